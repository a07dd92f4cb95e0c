import Foundation
import GRDB

/// Latencies in logarithmic buckets 5% wide, so that percentiles over millions of lookups come from a few hundred
/// counts per step instead of every latency; the value reported for a bucket is its geometric middle.
enum LatencyBuckets {
    static let ratio = 1.05
    /// The bucket of a lookup without a latency (a timeout, an orphan response).
    static let none: Int64 = -1

    /// Bucket 0 holds everything below 1 µs; bucket b > 0 holds [ratio^(b-1), ratio^b) µs.
    static func bucket(latencyNs: Int64) -> Int64 {
        let micros = Double(latencyNs) / 1000
        guard micros >= 1 else { return 0 }
        return 1 + Int64((log(micros) / log(ratio)).rounded(.down))
    }

    /// Nanoseconds that include every latency of `bucket` (and a few of its neighbours', which `bucket(latencyNs:)`
    /// tells apart): a range for SQL to narrow a read to the bucket.
    static func nanoseconds(_ bucket: Int64) -> ClosedRange<Int64> {
        guard bucket > 0 else { return 0...1000 }
        let lower = pow(ratio, Double(bucket) - 1) * 1000
        let upper = pow(ratio, Double(bucket)) * 1000
        return Int64(lower.rounded(.down)) - 1...Int64(min(upper.rounded(.up), 9e18)) + 1
    }

    /// The bucket's middle, in milliseconds.
    static func milliseconds(_ bucket: Int64) -> Double {
        bucket <= 0 ? 0.0005 : pow(ratio, Double(bucket) - 0.5) / 1000
    }

    /// `dns_latency_bucket(dns_latency_ns)` in SQL: the same buckets, -1 for NULL.
    static let sqlFunction = DatabaseFunction("dns_latency_bucket", argumentCount: 1, pure: true) { values in
        guard let latency = Int64.fromDatabaseValue(values[0]) else { return none }
        return bucket(latencyNs: latency)
    }

    /// The nearest-rank percentile `p` of a histogram of bucket → count, in milliseconds; nil when it is empty.
    static func percentile(_ p: Double, of counts: [Int64: Int]) -> Double? {
        let total = counts.values.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = max(Int((p * Double(total)).rounded(.up)), 1)
        var seen = 0
        for bucket in counts.keys.sorted() {
            seen += counts[bucket]!
            if seen >= rank { return milliseconds(bucket) }
        }
        return nil
    }
}
