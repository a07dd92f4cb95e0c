import DNSFlowStore

/// What the query API reads: the store, or an in-memory fake in tests.
public protocol FlowQuerying: Sendable {
    func query(_ query: FlowQuery) async throws -> FlowPage
    func top(_ query: TopQuery) async throws -> [TopEntry]
    func timeSeries(_ query: TimeSeriesQuery) async throws -> TimeSeries
    /// Epoch milliseconds on `timeFlowEndMs`; nil leaves that side open.
    func latencyHistogram(since: Int64?, until: Int64?) async throws -> [LatencyBucket]
    /// Rows stored, for the `store_rows` gauge.
    func count() async throws -> Int
}

extension FlowStore: FlowQuerying {}
extension ClickHouseStore: FlowQuerying {}
