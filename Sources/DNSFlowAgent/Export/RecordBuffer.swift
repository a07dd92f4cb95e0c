import DNSFlowCore
import Synchronization

/// A bounded buffer between the evictor and one exporter. `append` never waits: past the bound
/// the oldest records are dropped and counted, so a slow receiver costs records, never the node.
public final class RecordBuffer: Sendable {
    private struct State {
        var records: [FlowRecord] = []
        var dropped = 0
        var finished = false
    }

    public let capacity: Int
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(capacity: Int) {
        self.capacity = capacity
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Adds records; returns how many old ones were dropped to make room.
    @discardableResult
    public func append(_ records: [FlowRecord]) -> Int {
        guard !records.isEmpty else { return 0 }
        let dropped = state.withLock { state in
            state.records.append(contentsOf: records)
            let excess = state.records.count - capacity
            guard excess > 0 else { return 0 }
            state.records.removeFirst(excess)
            state.dropped += excess
            return excess
        }
        wake.yield()
        return dropped
    }

    /// Up to `limit` of the oldest records.
    public func take(_ limit: Int) -> [FlowRecord] {
        state.withLock { state in
            let batch = Array(state.records.prefix(limit))
            state.records.removeFirst(batch.count)
            return batch
        }
    }

    /// Puts a batch that could not be delivered back in front, within the bound.
    public func putBack(_ records: [FlowRecord]) {
        state.withLock { state in
            let room = max(capacity - state.records.count, 0)
            let kept = records.suffix(room)
            state.dropped += records.count - kept.count
            state.records.insert(contentsOf: kept, at: 0)
        }
    }

    public var count: Int { state.withLock { $0.records.count } }
    public var dropped: Int { state.withLock { $0.dropped } }

    /// Waits until records arrive (or returns at once if some are waiting).
    public func waitForRecords() async {
        if count > 0 { return }
        for await _ in wakeups {
            if count > 0 { return }
        }
    }

    /// Wakes a waiting `waitForRecords()` for good; used at shutdown.
    public func finish() {
        wake.finish()
    }
}
