import DNSFlowCore
import Foundation
import Testing

@testable import DNSFlowStore

/// The store ranks per key and latency bucket in SQL; its answers must be those of ranking every row exactly.
@Suite struct TopRankingTests {
    static let hour: Int64 = 1_700_002_800_000  // an hour boundary

    /// Lookups over two hours: skewed names, latencies bunched into the same buckets (and equal ones), timeouts.
    static func lookups(count: Int, seed: UInt64) -> [FlowRecord] {
        var rng = SplitMix(seed: seed)
        let names = (0..<12).map { "n\($0).test" }
        let clients: [String?] = ["checkout", "cart", nil]
        let servers: [IPAddress] = ["10.0.0.53", "10.96.0.10"]
        return (0..<count).map { i in
            let pick = Int(rng.next() % 12)
            let roll = rng.next() % 100
            let latency: Double? = roll < 5 ? nil : Double(rng.next() % 400) / 8 + (roll < 15 ? 200 : 0)
            let rcode: DNSResponseCode? = latency == nil ? nil : roll < 25 ? "NXDomain" : "NoError"
            return LookupQueryTests.lookup(
                id: UInt16(i), at: Self.hour + Int64(i) * 7_200_000 / Int64(count), latency: latency, rcode: rcode,
                name: names[pick * pick / 12],
                client: clients[Int(rng.next() % 3)], comm: i % 4 == 0 ? nil : "curl",
                server: servers[Int(rng.next() % 2)], errno: latency == nil ? 110 : 0)
        }
    }

    /// What each record contributes to a ranking, keyed as `FlowStore.top` keys it.
    static func sample(_ r: FlowRecord, by: TopQuery.Key) -> TopSample {
        let key =
            switch by {
            case .latency: "\(r.srcAddr) → \(r.dstAddr)"
            case .rcode: r.dnsFlagsResponseCode?.name ?? ""
            case .name: r.dnsName ?? ""
            case .client: r.netNsName ?? r.srcAddr.text
            case .server: r.dstAddr.text
            case .comm: r.requester?.comm ?? ""
            }
        let failed = (r.dnsFlagsResponseCode.map { $0.rawValue != 0 } ?? false) || (r.dnsErrno ?? 0) != 0
        return TopSample(key: key, latency: r.dnsLatencyNs.map { Double($0) / 1e6 }, failed: failed)
    }

    @Test(arguments: [1, 2, 3] as [UInt64]) func storeRankingEqualsTheExactOne(seed: UInt64) async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let records = Self.lookups(count: 600, seed: seed)
        try await t.store.insert(records)
        // All of both hours, and a window cutting both.
        for (since, until) in [(Self.hour, Self.hour + 7_200_000), (Self.hour + 1_000_000, Self.hour + 5_000_000)] {
            let window = records.filter { $0.timeFlowEndMs >= since && $0.timeFlowEndMs < until }
            for by in TopQuery.Key.allCases {
                let samples = window.map { Self.sample($0, by: by) }
                for stat in TopQuery.Stat.allCases {
                    for order in TopQuery.Order.allCases {
                        for limit in [1, 3, 100] {
                            let query = TopQuery(
                                by: by, stat: stat, order: order, limit: limit, since: since, until: until)
                            let stored = try await t.store.top(query)
                            let exact = TopRanking.rank(samples, query: query)
                            let what = "\(by) \(stat) \(order) \(limit) from \(since - Self.hour)"
                            #expect(stored.map(\.key) == exact.map(\.key), "\(what)")
                            #expect(stored.map(\.count) == exact.map(\.count), "\(what)")
                            #expect(stored.map(\.errors) == exact.map(\.errors), "\(what)")
                            // An average is summed in another order: equal to the last few bits.
                            let close = zip(stored, exact).allSatisfy { a, b in
                                a.value == b.value || abs((a.value ?? .nan) - (b.value ?? .nan)) < 1e-9
                            }
                            #expect(close, "\(what): \(stored.map(\.value)) vs \(exact.map(\.value))")
                        }
                    }
                }
            }
        }
    }

    @Test func percentileRankFromBucketCounts() {
        #expect(TopBuckets.rank(0.9, of: [3: 5, 7: 5]) == TopBuckets.Rank(bucket: 7, rank: 4))
        #expect(TopBuckets.rank(0.5, of: [3: 5, 7: 5]) == TopBuckets.Rank(bucket: 3, rank: 5))
        #expect(TopBuckets.rank(0.99, of: [:]) == nil)
    }

    @Test func bucketRangesHoldTheirLatencies() {
        for ns: Int64 in [0, 999, 1000, 1049, 1050, 1_000_000, 12_345_678, 90_000_000, 4_000_000_000] {
            #expect(LatencyBuckets.nanoseconds(LatencyBuckets.bucket(latencyNs: ns)).contains(ns), "\(ns)")
        }
    }
}

/// A small seeded generator, so a failing case repeats.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
