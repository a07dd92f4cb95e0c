import DNSFlowCore
import NIOConcurrencyHelpers
import NIOCore

/// A bounded buffer between the evictor and one exporter. `append` never waits: past the bound
/// the oldest records are dropped, so a slow receiver costs records, never the node.
public final class RecordBuffer: Sendable {
    public let capacity: Int
    private let records = NIOLockedValueBox(CircularBuffer<FlowRecord>(initialCapacity: 1024))
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(capacity: Int) {
        self.capacity = capacity
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Adds records; returns how many old ones were dropped to make room.
    @discardableResult
    public func append(_ batch: [FlowRecord]) -> Int {
        guard !batch.isEmpty else { return 0 }
        let dropped = records.withLockedValue { records in
            records.append(contentsOf: batch)
            let excess = max(records.count - capacity, 0)
            records.removeFirst(excess)
            return excess
        }
        wake.yield()
        return dropped
    }

    /// Up to `limit` of the oldest records.
    public func take(_ limit: Int) -> [FlowRecord] {
        records.withLockedValue { records in
            let batch = Array(records.prefix(limit))
            records.removeFirst(batch.count)
            return batch
        }
    }

    /// Puts a batch that could not be delivered back in front; returns how many did not fit.
    @discardableResult
    public func putBack(_ batch: [FlowRecord]) -> Int {
        records.withLockedValue { records in
            let kept = batch.suffix(max(capacity - records.count, 0))
            records.prepend(contentsOf: kept)
            return batch.count - kept.count
        }
    }

    public var count: Int { records.withLockedValue { $0.count } }

    /// Waits until records are waiting (true), or the buffer is finished (false).
    public func waitForRecords() async -> Bool {
        if count > 0 { return true }
        for await _ in wakeups where count > 0 {
            return true
        }
        return false
    }

    /// Ends `waitForRecords()` for good; the exporter then flushes what is left.
    public func finish() {
        wake.finish()
    }
}

extension CircularBuffer {
    mutating func prepend(contentsOf elements: some BidirectionalCollection<Element>) {
        for element in elements.reversed() { prepend(element) }
    }
}
