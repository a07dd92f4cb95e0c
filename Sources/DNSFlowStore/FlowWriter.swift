import DNSFlowCore
import Logging
import ServiceLifecycle
import Synchronization

/// The single writer: ingest hands batches to a bounded queue; one task inserts them, many per transaction.
///
/// `write` returns once the batch's transaction has committed (group commit: the requests queued while one
/// transaction runs share the next one), so an acknowledged batch survives the process being killed. `submit`
/// returns at once, for sources that cannot be acknowledged (IPFIX). Either way a full queue refuses the batch
/// at once and counts it, so a slow disk sheds load instead of stalling the HTTP and IPFIX listeners.
public final class FlowWriter: Service, Sendable {
    public struct Counters: Sendable, Hashable {
        public var accepted: Int
        public var dropped: Int
        public var written: Int
        public var failed: Int
    }

    /// What became of a batch handed to `write`.
    public enum Outcome: Sendable, Hashable {
        /// Committed: on disk once the OS writes it, whatever happens to this process.
        case stored
        /// Refused, nothing written: the queue was full or the writer has stopped.
        case dropped
        /// Its transaction failed (the error is logged); nothing of it was written.
        case failed
    }

    /// Large enough to amortise the commit; small enough that readers never wait long on one transaction.
    public static let defaultMaxRowsPerTransaction = 50_000

    private let store: any FlowBatchInserting
    private let logger: Logger
    private let maxRowsPerTransaction: Int
    private let queue: Mutex<BatchQueue>
    /// Wakes the writer; holds at most one pending wake-up, since one drain takes everything queued.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let counters = Mutex(Counters(accepted: 0, dropped: 0, written: 0, failed: 0))

    /// - Parameter queueSize: the number of batches that may wait for the writer.
    public init(
        store: some FlowBatchInserting, queueSize: Int,
        maxRowsPerTransaction: Int = FlowWriter.defaultMaxRowsPerTransaction,
        logger: Logger
    ) {
        self.store = store
        self.logger = logger
        self.maxRowsPerTransaction = max(maxRowsPerTransaction, 1)
        queue = Mutex(BatchQueue(capacity: max(queueSize, 1)))
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a batch and returns at once; false when the queue was full (or the writer stopped) and the batch
    /// was dropped. A queued batch is lost if the process dies before its transaction commits.
    @discardableResult
    public func submit(_ records: [FlowRecord]) -> Bool {
        enqueue(QueuedBatch(records: records, done: nil))
    }

    /// Queues a batch and waits for its transaction; `.dropped` at once when the queue is full or the writer stopped.
    public func write(_ records: [FlowRecord]) async -> Outcome {
        // A cancelled caller still gets its outcome: the batch is written (or not) whatever the caller does.
        await withCheckedContinuation { done in
            if !enqueue(QueuedBatch(records: records, done: done)) { done.resume(returning: .dropped) }
        }
    }

    private func enqueue(_ batch: QueuedBatch) -> Bool {
        guard !batch.records.isEmpty else {
            batch.done?.resume(returning: .stored)
            return true
        }
        let queued = queue.withLock { $0.push(batch) }
        counters.withLock {
            if queued { $0.accepted += batch.records.count } else { $0.dropped += batch.records.count }
        }
        if queued { wake.yield() }
        return queued
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    /// Writes until graceful shutdown, then drains what was already queued.
    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups { await drain() }
            // Batches queued between the last wake-up and the shutdown; on cancellation there is no time for them,
            // but their writers are still answered.
            if Task.isCancelled {
                let abandoned = queue.withLock { queue in
                    queue.close()
                    return queue.take(maxRows: .max)
                }
                finish(abandoned, .failed)
            } else {
                await drain()
            }
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
            do {
                try await store.insert(batches.map(\.records).joined())
                finish(batches, .stored)
            } catch {
                finish(batches, .failed)
                logger.error(
                    "flow batch insert failed",
                    metadata: [
                        "dnsflow.store.error": "\(error)", "dnsflow.batch.count": "\(batches.rowCount)",
                    ]
                )
            }
        }
    }

    private func finish(_ batches: [QueuedBatch], _ outcome: Outcome) {
        counters.withLock {
            if outcome == .stored { $0.written += batches.rowCount } else { $0.failed += batches.rowCount }
        }
        for batch in batches { batch.done?.resume(returning: outcome) }
    }
}

/// One request's records and, when its sender waits, how to answer it.
struct QueuedBatch: Sendable {
    let records: [FlowRecord]
    let done: CheckedContinuation<FlowWriter.Outcome, Never>?
}

extension [QueuedBatch] {
    var rowCount: Int { reduce(0) { $0 + $1.records.count } }
}

/// The batches waiting for the writer, oldest first, bounded by their number.
struct BatchQueue {
    let capacity: Int
    private var batches: [QueuedBatch] = []
    private var isClosed = false

    init(capacity: Int) { self.capacity = capacity }

    /// False, keeping nothing, when the queue is full or closed.
    mutating func push(_ batch: QueuedBatch) -> Bool {
        guard !isClosed, batches.count < capacity else { return false }
        batches.append(batch)
        return true
    }

    /// The oldest batches holding at most `maxRows` rows together, but always at least one batch (a batch is
    /// never split: it is one request, written whole or failed whole). Empty when nothing is queued.
    mutating func take(maxRows: Int) -> [QueuedBatch] {
        var rows = 0
        var end = 0
        while end < batches.count, end == 0 || rows + batches[end].records.count <= maxRows {
            rows += batches[end].records.count
            end += 1
        }
        let taken = Array(batches[..<end])
        batches.removeFirst(end)
        return taken
    }

    /// Refuses further batches; those already queued stay to be taken.
    mutating func close() { isClosed = true }
}
