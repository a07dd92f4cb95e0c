import DNSFlowCore
import Logging
import ServiceLifecycle
import Synchronization

/// The single writer: ingest hands batches to a bounded queue and returns at once; one task inserts them.
///
/// When the queue is full the new batch is dropped and counted, so a slow disk sheds load instead of
/// stalling the HTTP and IPFIX listeners. The writer takes everything queued at once (up to
/// `maxRowsPerTransaction`) into one transaction: a commit and its WAL sync are paid per transaction, so
/// the busier the ingest, the cheaper each row.
public final class FlowWriter: Service, Sendable {
    public struct Counters: Sendable, Hashable {
        public var accepted: Int
        public var dropped: Int
        public var written: Int
        public var failed: Int
    }

    /// Large enough to amortise the commit; small enough that readers never wait long on one transaction.
    public static let defaultMaxRowsPerTransaction = 50_000

    private let store: FlowStore
    private let logger: Logger
    private let maxRowsPerTransaction: Int
    private let queue: Mutex<BatchQueue>
    /// Wakes the writer; holds at most one pending wake-up, since one drain takes everything queued.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let counters = Mutex(Counters(accepted: 0, dropped: 0, written: 0, failed: 0))

    /// - Parameter queueSize: the number of batches that may wait for the writer.
    public init(
        store: FlowStore, queueSize: Int, maxRowsPerTransaction: Int = FlowWriter.defaultMaxRowsPerTransaction,
        logger: Logger
    ) {
        self.store = store
        self.logger = logger
        self.maxRowsPerTransaction = max(maxRowsPerTransaction, 1)
        queue = Mutex(BatchQueue(capacity: max(queueSize, 1)))
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a batch; false when the queue was full (or the writer stopped) and the batch was dropped.
    @discardableResult
    public func submit(_ records: [FlowRecord]) -> Bool {
        guard !records.isEmpty else { return true }
        let queued = queue.withLock { $0.push(records) }
        counters.withLock {
            if queued { $0.accepted += records.count } else { $0.dropped += records.count }
        }
        if queued { wake.yield() }
        return queued
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    /// Writes until graceful shutdown, then drains what was already queued.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups { await drain() }
            // Batches queued between the last wake-up and the shutdown; on cancellation there is no time for them.
            if !Task.isCancelled { await drain() }
        } onGracefulShutdown: {
            self.queue.withLock { $0.close() }
            self.wake.finish()
        }
    }

    /// Writes until the queue is empty, one transaction per `take`.
    private func drain() async {
        while true {
            let batches = queue.withLock { $0.take(maxRows: maxRowsPerTransaction) }
            guard !batches.isEmpty else { return }
            let count = batches.reduce(0) { $0 + $1.count }
            do {
                try await store.insert(batches.joined())
                counters.withLock { $0.written += count }
            } catch {
                counters.withLock { $0.failed += count }
                logger.error(
                    "flow batch insert failed",
                    metadata: ["dnsflow.store.error": "\(error)", "dnsflow.batch.count": "\(count)"]
                )
            }
        }
    }
}

/// The batches waiting for the writer, oldest first, bounded by their number.
struct BatchQueue {
    let capacity: Int
    private var batches: [[FlowRecord]] = []
    private var isClosed = false

    init(capacity: Int) { self.capacity = capacity }

    /// False, keeping nothing, when the queue is full or closed.
    mutating func push(_ batch: [FlowRecord]) -> Bool {
        guard !isClosed, batches.count < capacity else { return false }
        batches.append(batch)
        return true
    }

    /// The oldest batches holding at most `maxRows` rows together, but always at least one batch (a batch is
    /// never split: it is one request, written whole or failed whole). Empty when nothing is queued.
    mutating func take(maxRows: Int) -> [[FlowRecord]] {
        var rows = 0
        var end = 0
        while end < batches.count, end == 0 || rows + batches[end].count <= maxRows {
            rows += batches[end].count
            end += 1
        }
        let taken = Array(batches[..<end])
        batches.removeFirst(end)
        return taken
    }

    /// Refuses further batches; those already queued stay to be taken.
    mutating func close() { isClosed = true }
}
