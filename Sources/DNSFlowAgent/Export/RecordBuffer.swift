import DNSFlowCore
import NIOConcurrencyHelpers
import NIOCore

/// A bounded buffer between the evictor and one exporter. `append` never waits: past the bound
/// the oldest records are dropped, so a slow receiver costs records, never the node.
///
/// Records are kept as the slices of the arrays the evictor handed over: appending and taking
/// move slices, never records, so a record is not copied (each copy retains and releases its
/// strings) between the evictor and the encoder.
public final class RecordBuffer: Sendable {
    public let capacity: Int
    private let state = NIOLockedValueBox(Chunks())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    private struct Chunks {
        var chunks = CircularBuffer<ArraySlice<FlowRecord>>(initialCapacity: 16)
        var count = 0

        /// Drops the oldest records beyond `capacity`; returns how many.
        mutating func trim(to capacity: Int) -> Int {
            var dropped = 0
            while count > capacity, var oldest = chunks.popFirst() {
                let excess = min(count - capacity, oldest.count)
                oldest = oldest.dropFirst(excess)
                count -= excess
                dropped += excess
                if !oldest.isEmpty { chunks.prepend(oldest) }
            }
            return dropped
        }
    }

    public init(capacity: Int) {
        self.capacity = capacity
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Adds records; returns how many old ones were dropped to make room.
    @discardableResult
    public func append(_ batch: [FlowRecord]) -> Int {
        guard !batch.isEmpty else { return 0 }
        let dropped = state.withLockedValue { state in
            state.chunks.append(batch[...])
            state.count += batch.count
            return state.trim(to: capacity)
        }
        wake.yield()
        return dropped
    }

    /// Up to `limit` of the oldest records.
    public func take(_ limit: Int) -> ArraySlice<FlowRecord> {
        state.withLockedValue { state in
            guard var first = state.chunks.popFirst() else { return [] }
            if first.count > limit {
                state.chunks.prepend(first.dropFirst(limit))
                first = first.prefix(limit)
            }
            state.count -= first.count
            return first
        }
    }

    /// Puts a batch that could not be delivered back in front, and wakes the exporter to retry it;
    /// returns how many did not fit.
    @discardableResult
    public func putBack(_ batch: ArraySlice<FlowRecord>) -> Int {
        let kept = state.withLockedValue { state in
            let kept = batch.suffix(max(capacity - state.count, 0))
            if !kept.isEmpty { state.chunks.prepend(kept) }
            state.count += kept.count
            return kept.count
        }
        if kept > 0 { wake.yield() }
        return batch.count - kept
    }

    public var count: Int { state.withLockedValue { $0.count } }

    /// Empties the buffer; returns how many records it held.
    @discardableResult
    public func removeAll() -> Int {
        state.withLockedValue { state in
            defer { state = Chunks() }
            return state.count
        }
    }

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
