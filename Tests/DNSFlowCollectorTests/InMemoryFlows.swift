import DNSFlowCollector
import DNSFlowCore
import DNSFlowStore
import Synchronization

/// The router's store and writer in memory: ingest queues up to `queueCapacity` unacknowledged
/// batches and stores acknowledged ones; queries answer from what is stored and are kept, so a
/// test sees what the router asked for.
final class InMemoryFlows: FlowQuerying, FlowIngesting {
    struct State {
        var queueCapacity = Int.max
        var queued: [[FlowRecord]] = []
        var stored: [FlowRecord] = []
        var queries: [FlowQuery] = []
        var tops: [TopQuery] = []
        var windows: [(since: Int64?, until: Int64?)] = []
        var topEntries: [TopEntry] = []
        var buckets: [LatencyBucket] = []
        var timeSeriesQueries: [TimeSeriesQuery] = []
    }

    let state: Mutex<State>

    init(_ state: State = State()) { self.state = Mutex(state) }

    var snapshot: State { state.withLock { $0 } }

    func submit(_ records: [FlowRecord]) -> Bool {
        state.withLock { state in
            guard state.queued.count < state.queueCapacity else { return false }
            state.queued.append(records)
            return true
        }
    }

    func write(_ records: [FlowRecord]) async -> FlowWriter.Outcome {
        state.withLock { state in
            guard state.queued.count < state.queueCapacity else { return .dropped }
            state.stored += records
            return .stored
        }
    }

    func query(_ query: FlowQuery) async throws -> FlowPage {
        state.withLock { state in
            state.queries.append(query)
            return FlowPage(flows: Array(state.stored.prefix(query.limit)), total: state.stored.count)
        }
    }

    func top(_ query: TopQuery) async throws -> [TopEntry] {
        state.withLock { state in
            state.tops.append(query)
            return state.topEntries
        }
    }

    func timeSeries(_ query: TimeSeriesQuery) async throws -> TimeSeries {
        state.withLock { state in
            state.timeSeriesQueries.append(query)
            return TimeSeries(startMs: query.since, stepMs: query.stepMs, series: [])
        }
    }

    func latencyHistogram(since: Int64?, until: Int64?) async throws -> [LatencyBucket] {
        state.withLock { state in
            state.windows.append((since, until))
            return state.buckets
        }
    }

    func count() async throws -> Int { state.withLock { $0.stored.count } }
}
