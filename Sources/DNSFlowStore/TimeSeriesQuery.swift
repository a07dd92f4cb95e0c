import DNSFlowCore

/// Lookups over time, in steps: their rate by outcome, or latency percentiles.
public struct TimeSeriesQuery: Sendable, Hashable {
    public enum Metric: String, Sendable, CaseIterable {
        /// Lookups per second, one series per outcome (response code, or timeout).
        case rate
        /// Latency percentiles in ms, one series per statistic.
        case latency
    }

    public enum Stat: String, Sendable, CaseIterable {
        case p50, p90, p99

        var fraction: Double {
            switch self {
            case .p50: 0.5
            case .p90: 0.9
            case .p99: 0.99
            }
        }
    }

    /// The steps a range is cut into when none is asked for: the smallest giving at most `maxSteps`.
    public static let steps: [Int64] = [
        1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400,
    ].map { $0 * 1000 }
    public static let maxSteps: Int64 = 90
    /// The most steps a query may ask for with its own step.
    public static let maxPoints = 5_000

    public var metric: Metric
    public var stats: [Stat]
    public var stepMs: Int64
    /// Which lookups are counted; its window is `since`..<`until`, both set.
    public var filter: FlowQuery
    public var since: Int64 { filter.since ?? 0 }
    public var until: Int64 { filter.until ?? 0 }

    /// `since` is moved back to a whole step, so that steps fall on round times.
    public init(
        metric: Metric, stats: [Stat] = Stat.allCases, stepMs: Int64? = nil, since: Int64, until: Int64,
        filter: FlowQuery = FlowQuery()
    ) {
        let step = max(stepMs ?? Self.step(forRangeMs: until - since), 1)
        self.metric = metric
        self.stats = stats
        self.stepMs = step
        var filter = filter.filter
        filter.since = since - ((since % step) + step) % step
        filter.until = until
        self.filter = filter
    }

    public static func step(forRangeMs range: Int64) -> Int64 {
        steps.first { range <= $0 * maxSteps } ?? steps.last!
    }

    /// The number of steps from `since` to `until`.
    public var count: Int { Int((until - since + stepMs - 1) / stepMs) }

    /// True when the rollup answers it: no filter but the window, in whole minutes.
    var fitsRollup: Bool {
        filter.isTimeWindowOnly && stepMs % DNSRollup.minuteMs == 0 && since % DNSRollup.minuteMs == 0
    }
}

/// A series per outcome or statistic, each value the step starting at `startMs + i * stepMs`.
public struct TimeSeries: Sendable, Hashable, Codable {
    public struct Series: Sendable, Hashable, Codable {
        public var key: String
        /// nil where a step has no lookup to take a percentile of.
        public var values: [Double?]

        public init(key: String, values: [Double?]) {
            self.key = key
            self.values = values
        }
    }

    public var startMs: Int64
    public var stepMs: Int64
    public var series: [Series]

    public init(startMs: Int64, stepMs: Int64, series: [Series]) {
        self.startMs = startMs
        self.stepMs = stepMs
        self.series = series
    }
}

/// Counts per (step, outcome, latency bucket), added up from the rows or the rollup, then made into series. Pure.
struct TimeSeriesCounts {
    let query: TimeSeriesQuery
    /// Lookups per step, by outcome (rate) or latency bucket (latency).
    private var counts: [Int: [Int64: Int]] = [:]

    init(_ query: TimeSeriesQuery) { self.query = query }

    /// `count` lookups ending at `timeMs` with `key`: their outcome (`DNSOutcome`) for a rate, their latency
    /// bucket for a latency.
    mutating func add(timeMs: Int64, key: Int64, count: Int) {
        let step = Int((timeMs - query.since) / query.stepMs)
        guard step >= 0, step < query.count else { return }
        counts[step, default: [:]][key, default: 0] += count
    }

    /// The SQL of the key `add` takes, over a partition's rows.
    var keySQL: String {
        query.metric == .rate ? DNSOutcome.sql : "dns_latency_bucket(dns_latency_ns)"
    }

    var series: TimeSeries {
        let steps = 0..<query.count
        let series: [TimeSeries.Series]
        switch query.metric {
        case .rate:
            let outcomes = Set(counts.values.flatMap(\.keys)).sorted()
            let seconds = Double(query.stepMs) / 1000
            series = outcomes.map { outcome in
                TimeSeries.Series(
                    key: DNSOutcome.name(outcome),
                    values: steps.map { Double(counts[$0]?[outcome] ?? 0) / seconds })
            }
        case .latency:
            series = query.stats.map { stat in
                TimeSeries.Series(
                    key: stat.rawValue,
                    values: steps.map { step in
                        (counts[step]?.filter { $0.key != LatencyBuckets.none })
                            .flatMap { LatencyBuckets.percentile(stat.fraction, of: $0) }
                    })
            }
        }
        return TimeSeries(startMs: query.since, stepMs: query.stepMs, series: series)
    }
}

/// A lookup's outcome as one integer: its response code, or 256 + its errno when it has none.
enum DNSOutcome {
    static let sql = "COALESCE(dns_rcode, 256 + dns_errno)"

    static func of(_ record: FlowRecord) -> Int64? {
        if let rcode = record.dnsFlagsResponseCode { return Int64(rcode.rawValue) }
        return record.dnsErrno.map { 256 + Int64($0) }
    }

    static func name(_ outcome: Int64) -> String {
        switch outcome {
        case 0..<256: DNSResponseCode(rawValue: UInt8(outcome)).name
        case 256 + Int64(DNSErrno.timedOut): "timeout"
        case 256 + Int64(DNSErrno.noQuery): "no-query"
        default: "errno \(outcome - 256)"
        }
    }
}
