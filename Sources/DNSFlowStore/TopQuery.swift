/// A ranking of DNS transactions in a time window.
public struct TopQuery: Sendable, Hashable {
    public enum Key: String, Sendable, CaseIterable {
        /// Client → server pairs, ranked by the latency statistic.
        case latency
        /// Response codes, ranked by count.
        case rcode
        /// Query names, ranked by the latency statistic.
        case name
        /// Clients (the side that is not port 53) by name (`NetNsName`, else `ContainerId`), else by address,
        /// ranked by the latency statistic.
        case client
        /// Servers as the client addressed them, ranked by the latency statistic.
        case server
        /// The processes that asked (`Comm`), ranked by the latency statistic.
        case comm
    }

    public enum Stat: String, Sendable, CaseIterable {
        case avg, max, p50, p90, p99
    }

    /// What ranks the groups.
    public enum Order: String, Sendable, CaseIterable {
        /// The latency statistic, largest first; response codes by count.
        case value
        /// Lookups, most first.
        case count
        /// Failed lookups (`FlowQuery.errorsOnly`), most first; groups without any are left out.
        case errors
    }

    /// A store that ranks the rows themselves (`TopRanking`) reads at most this many of the window's newest; the
    /// SQLite store ranks every row of the window (`TopBuckets`).
    public static let maxWindowRows = 200_000

    public var by: Key
    public var stat: Stat
    public var order: Order
    public var limit: Int
    /// Which lookups are ranked: its filters and window; its paging is ignored.
    public var filter: FlowQuery
    public var since: Int64? { filter.since }
    public var until: Int64? { filter.until }

    public init(
        by: Key, stat: Stat = .avg, order: Order = .value, limit: Int = 10, since: Int64? = nil, until: Int64? = nil,
        filter: FlowQuery = FlowQuery()
    ) {
        self.by = by
        self.stat = stat
        self.order = order
        self.limit = min(max(limit, 1), 1000)
        var filter = filter.filter
        filter.since = since ?? filter.since
        filter.until = until ?? filter.until
        self.filter = filter
    }
}

public struct TopEntry: Sendable, Codable, Hashable {
    public var key: String
    /// The latency statistic in ms; nil when no transaction of the group has a latency (timeouts only).
    public var value: Double?
    public var count: Int
    /// Of `count`, the lookups that failed.
    public var errors: Int

    public init(key: String, value: Double?, count: Int, errors: Int = 0) {
        self.key = key
        self.value = value
        self.count = count
        self.errors = errors
    }
}

/// One ranked lookup: its group's key, its latency (nil for a timeout) and whether it failed.
struct TopSample {
    var key: String
    var latency: Double?
    var failed: Bool
}

/// Ranks groups of (key, latency) pairs. Pure, so the statistics are tested without a database.
struct TopRanking {
    static func rank(_ samples: [TopSample], query: TopQuery) -> [TopEntry] {
        var groups: [String: [Double]] = [:]
        var counts: [String: (count: Int, errors: Int)] = [:]
        for sample in samples {
            counts[sample.key, default: (0, 0)].count += 1
            if sample.failed { counts[sample.key, default: (0, 0)].errors += 1 }
            if let latency = sample.latency { groups[sample.key, default: []].append(latency) }
        }
        let entries = counts.map { key, count in
            TopEntry(
                key: key, value: groups[key].map { statistic(query.stat, of: $0) }, count: count.count,
                errors: count.errors)
        }
        return Array(ordered(entries, query: query).prefix(query.limit))
    }

    /// Every entry the query shows, best first, before its limit.
    static func ordered(_ entries: [TopEntry], query: TopQuery) -> [TopEntry] {
        let order = order(of: query)
        return entries.filter { order != .errors || $0.errors > 0 }.sorted { a, b in
            switch order {
            case .count: return (a.count, b.key) > (b.count, a.key)
            case .errors: return (a.errors, a.count, b.key) > (b.errors, b.count, a.key)
            case .value: return ((a.value ?? -1), b.key) > ((b.value ?? -1), a.key)
            }
        }
    }

    /// Response codes have no latency to rank by: by count.
    static func order(of query: TopQuery) -> TopQuery.Order {
        query.order == .value && query.by == .rcode ? .count : query.order
    }

    static func statistic(_ stat: TopQuery.Stat, of values: [Double]) -> Double {
        switch stat {
        // Summed in whole nanoseconds, as the SQLite store sums its column: the same value to the last bit.
        case .avg: return values.reduce(0) { $0 + ($1 * 1e6).rounded() } / Double(values.count) / 1e6
        case .max: return values.max() ?? 0
        case .p50: return percentile(0.50, of: values)
        case .p90: return percentile(0.90, of: values)
        case .p99: return percentile(0.99, of: values)
        }
    }

    /// Nearest-rank percentile: always a value that was observed.
    static func percentile(_ p: Double, of values: [Double]) -> Double {
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}

/// Counts of DNS latencies per bucket; `upperMs` nil for the last, open bucket.
public struct LatencyBucket: Sendable, Codable, Hashable {
    public static let bounds: [Double] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]

    public var upperMs: Double?
    public var count: Int

    public init(upperMs: Double?, count: Int) {
        self.upperMs = upperMs
        self.count = count
    }
}
