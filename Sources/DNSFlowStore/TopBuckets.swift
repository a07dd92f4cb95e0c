/// A ranking from counts per key (and latency bucket, for a percentile), as SQL groups them: counts, errors, averages
/// and maxima exact from the groups' sums; a percentile's bucket from the counts, and its exact value from the
/// latencies of that one bucket, read for the keys that can be shown (`wanted`). Pure, so it is tested without a
/// database.
struct TopBuckets {
    /// One SQL group: a key's lookups, in one latency bucket for a percentile (`LatencyBuckets.none` for those
    /// without a latency), of which `latencies` have one.
    struct Row {
        var key: String
        var bucket: Int64?
        var count: Int
        var errors: Int
        var latencies: Int
        var latencySumNs: Int64
        var latencyMaxNs: Int64?
    }

    /// A percentile's place: the `rank`-th smallest latency (from 1) in `bucket`.
    struct Rank: Hashable {
        var bucket: Int64
        var rank: Int
    }

    private struct Group {
        var count = 0
        var errors = 0
        var sumNs: Int64 = 0
        var latencies = 0
        var maxNs: Int64?
        var buckets: [Int64: Int] = [:]
    }

    let query: TopQuery
    private var groups: [String: Group] = [:]

    init(_ query: TopQuery) { self.query = query }

    /// Groups of several SQL rows (a client's name over several addresses) add up.
    mutating func add(_ row: Row) {
        var group = groups[row.key, default: Group()]
        group.count += row.count
        group.errors += row.errors
        if row.latencies > 0 {
            group.latencies += row.latencies
            group.sumNs += row.latencySumNs
            group.maxNs = max(group.maxNs ?? .min, row.latencyMaxNs ?? .min)
            if let bucket = row.bucket { group.buckets[bucket, default: 0] += row.latencies }
        }
        groups[row.key] = group
    }

    /// For a percentile, where each key that can be shown has it: those the limit keeps when ranked by the buckets'
    /// middles, and, ranking by the value, every key whose bucket ties with the last of them. Empty for `avg` and
    /// `max`, which the sums answer.
    var wanted: [String: Rank] {
        guard let fraction = query.stat.fraction else { return [:] }
        let ranks = groups.compactMapValues { Self.rank(fraction, of: $0.buckets) }
        let approximate = TopRanking.ordered(
            entries { ranks[$0].map { LatencyBuckets.milliseconds($0.bucket) } }, query: query)
        var shown = Set(approximate.prefix(query.limit).map(\.key))
        if TopRanking.order(of: query) == .value, let last = approximate.prefix(query.limit).last?.value {
            shown = Set(approximate.prefix { ($0.value ?? -1) >= last }.map(\.key))
        }
        return ranks.filter { shown.contains($0.key) }
    }

    /// The ranking, with the percentiles `exact` holds (in ms) for the keys `wanted` named.
    func ranked(exact: [String: Double]) -> [TopEntry] {
        Array(TopRanking.ordered(entries { exact[$0] }, query: query).prefix(query.limit))
    }

    private func entries(percentile: (String) -> Double?) -> [TopEntry] {
        groups.map { key, group in
            let latencies = group.latencies
            var value: Double?
            if latencies > 0 {
                switch query.stat {
                case .avg: value = Double(group.sumNs) / Double(latencies) / 1e6
                case .max: value = group.maxNs.map { Double($0) / 1e6 }
                case .p50, .p90, .p99: value = percentile(key)
                }
            }
            return TopEntry(key: key, value: value, count: group.count, errors: group.errors)
        }
    }

    /// The nearest rank of `fraction` among the counted latencies, as `TopRanking.percentile` takes it.
    static func rank(_ fraction: Double, of buckets: [Int64: Int]) -> Rank? {
        let total = buckets.values.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = min(max(Int((fraction * Double(total)).rounded(.up)), 1), total)
        var seen = 0
        for bucket in buckets.keys.sorted() {
            let count = buckets[bucket]!
            if seen + count >= rank { return Rank(bucket: bucket, rank: rank - seen) }
            seen += count
        }
        return nil
    }
}

extension TopQuery.Stat {
    /// The percentile's fraction; nil for `avg` and `max`.
    var fraction: Double? {
        switch self {
        case .avg, .max: nil
        case .p50: 0.50
        case .p90: 0.90
        case .p99: 0.99
        }
    }
}
