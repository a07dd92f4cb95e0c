import DNSFlowCore
import Logging
import ServiceLifecycle
import Synchronization

/// The single writer: ingest hands batches to a bounded queue and returns at once; one task inserts them.
///
/// When the queue is full the new batch is dropped and counted, so a slow disk sheds load instead of
/// stalling the HTTP and IPFIX listeners.
public final class FlowWriter: Service, Sendable {
    public struct Counters: Sendable, Hashable {
        public var accepted: Int
        public var dropped: Int
        public var written: Int
        public var failed: Int
    }

    private let store: FlowStore
    private let logger: Logger
    private let stream: AsyncStream<[FlowRecord]>
    private let continuation: AsyncStream<[FlowRecord]>.Continuation
    private let counters = Mutex(Counters(accepted: 0, dropped: 0, written: 0, failed: 0))

    /// - Parameter queueSize: the number of batches that may wait for the writer.
    public init(store: FlowStore, queueSize: Int, logger: Logger) {
        self.store = store
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(max(queueSize, 1)))
    }

    /// Queues a batch; false when the queue was full (or the writer stopped) and the batch was dropped.
    @discardableResult
    public func submit(_ records: [FlowRecord]) -> Bool {
        guard !records.isEmpty else { return true }
        let queued: Bool
        switch continuation.yield(records) {
        case .enqueued: queued = true
        case .dropped, .terminated: queued = false
        @unknown default: queued = false
        }
        counters.withLock {
            if queued { $0.accepted += records.count } else { $0.dropped += records.count }
        }
        return queued
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    /// Writes until graceful shutdown, then drains what was already queued.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await batch in stream {
                do {
                    try await store.insert(batch)
                    counters.withLock { $0.written += batch.count }
                } catch {
                    counters.withLock { $0.failed += batch.count }
                    logger.error(
                        "flow batch insert failed",
                        metadata: ["dnsflow.store.error": "\(error)", "dnsflow.batch.count": "\(batch.count)"]
                    )
                }
            }
        } onGracefulShutdown: { [continuation] in
            continuation.finish()
        }
    }
}
