import Prometheus

/// The collector's Prometheus metrics, in a registry of its own so `dnsflow up` can run it beside the agent.
public struct CollectorMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let ingestedRecords: Counter
    let droppedRecords: Counter
    let rejectedRequests: Counter
    let storeRows: Gauge
    let flowsQueryDuration: DurationHistogram
    let topQueryDuration: DurationHistogram
    let histogramQueryDuration: DurationHistogram
    let lookupsQueryDuration: DurationHistogram
    let timeSeriesQueryDuration: DurationHistogram

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        func name(_ metric: String, unit: String = "", _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(
                namespace: "dnsflow", subsystem: "collector", metricName: metric, unitName: unit, helpText: help)
        }
        ingestedRecords = registry.makeCounter(
            descriptor: name("ingested_records", unit: "total", "Flow records accepted into the write queue."))
        droppedRecords = registry.makeCounter(
            descriptor: name("dropped_records", unit: "total", "Flow records dropped because the write queue was full.")
        )
        rejectedRequests = registry.makeCounter(
            descriptor: name("rejected_ingest_requests", unit: "total", "Ingest requests whose body did not decode."))
        storeRows = registry.makeGauge(descriptor: name("store_rows", "Rows in the flow store."))
        let buckets: [Duration] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500].map { .milliseconds($0) }
        func queryDuration(_ endpoint: String) -> DurationHistogram {
            registry.makeDurationHistogram(
                descriptor: name("query_duration", unit: "seconds", "Time to answer a query endpoint."),
                labels: [("endpoint", endpoint)], buckets: buckets)
        }
        flowsQueryDuration = queryDuration("flows")
        topQueryDuration = queryDuration("dns_top")
        histogramQueryDuration = queryDuration("dns_histogram")
        lookupsQueryDuration = queryDuration("lookups")
        timeSeriesQueryDuration = queryDuration("dns_timeseries")
    }

    func timed<T>(_ histogram: DurationHistogram, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { histogram.record(ContinuousClock.now - start) }
        return try await body()
    }
}
