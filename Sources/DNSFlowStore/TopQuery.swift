/// A ranking of DNS transactions in a time window.
public struct TopQuery: Sendable, Hashable {
    public enum Key: String, Sendable, CaseIterable {
        /// Client → server pairs, ranked by the latency statistic.
        case latency
        /// Response codes, ranked by count.
        case rcode
        /// Query names, ranked by the latency statistic.
        case name
        /// Client addresses (the side that is not port 53), ranked by the latency statistic.
        case client
    }

    public enum Stat: String, Sendable, CaseIterable {
        case avg, max, p90, p99
    }

    /// Percentiles are computed in Swift over at most this many of the window's newest rows.
    public static let maxWindowRows = 200_000

    public var by: Key
    public var stat: Stat
    public var limit: Int
    public var since: Int64?
    public var until: Int64?

    public init(by: Key, stat: Stat = .avg, limit: Int = 10, since: Int64? = nil, until: Int64? = nil) {
        self.by = by
        self.stat = stat
        self.limit = min(max(limit, 1), 1000)
        self.since = since
        self.until = until
    }
}

public struct TopEntry: Sendable, Codable, Hashable {
    public var key: String
    /// The latency statistic in ms; nil when no transaction of the group has a latency (timeouts only).
    public var value: Double?
    public var count: Int

    public init(key: String, value: Double?, count: Int) {
        self.key = key
        self.value = value
        self.count = count
    }
}

/// Ranks groups of (key, latency) pairs. Pure, so the statistics are tested without a database.
struct TopRanking {
    static func rank(_ samples: [(key: String, latency: Double?)], query: TopQuery) -> [TopEntry] {
        var groups: [String: [Double]] = [:]
        var counts: [String: Int] = [:]
        for sample in samples {
            counts[sample.key, default: 0] += 1
            if let latency = sample.latency { groups[sample.key, default: []].append(latency) }
        }
        let entries = counts.map { key, count in
            TopEntry(key: key, value: groups[key].map { statistic(query.stat, of: $0) }, count: count)
        }
        let sorted = entries.sorted { a, b in
            switch query.by {
            case .rcode: return (a.count, b.key) > (b.count, a.key)
            default: return ((a.value ?? -1), b.key) > ((b.value ?? -1), a.key)
            }
        }
        return Array(sorted.prefix(query.limit))
    }

    static func statistic(_ stat: TopQuery.Stat, of values: [Double]) -> Double {
        switch stat {
        case .avg: return values.reduce(0, +) / Double(values.count)
        case .max: return values.max() ?? 0
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
