import DNSFlowCore
import Foundation
import Testing

@testable import DNSFlowStore

/// A window's total comes from the per-minute counts and the rows of the minutes it cuts: it must be the number of
/// rows the window holds, whatever the window, after retention and after records that arrive late.
@Suite struct FlowMinutesTests {
    static let hour = TopRankingTests.hour

    /// Lookups and plain flows over two hours, several in some milliseconds.
    static func records(count: Int, seed: UInt64, from startMs: Int64) -> [FlowRecord] {
        var rng = SplitMix(seed: seed)
        return (0..<count).map { i in
            let at = startMs + Int64(rng.next() % 7_200_000)
            var r = LookupQueryTests.lookup(id: UInt16(i), at: at, latency: 1)
            if i % 3 == 0 { r.recordType = .flow }
            return r
        }
    }

    static func windows(seed: UInt64) -> [(Int64?, Int64?)] {
        var rng = SplitMix(seed: seed)
        let cut = (0..<20).map { _ in
            let a = hour + Int64(rng.next() % 7_400_000)
            let b = hour + Int64(rng.next() % 7_400_000)
            return (min(a, b), max(a, b) + 1)
        }
        return cut.map { (Optional($0.0), Optional($0.1)) } + [
            (hour, hour + 3_600_000), (hour + 60_000, hour + 120_000), (hour + 59_999, hour + 60_001), (nil, nil),
            (hour + 1_800_000, nil), (nil, hour + 5_400_000),
        ]
    }

    func expectTotals(_ store: FlowStore, _ records: [FlowRecord], seed: UInt64) async throws {
        for (since, until) in Self.windows(seed: seed) {
            for recordType in [nil, RecordType.dnsTransaction, .flow] {
                let query = FlowQuery(recordType: recordType, since: since, until: until)
                let expected = records.filter { r in
                    (recordType.map { r.recordType == $0 } ?? true) && r.timeFlowEndMs >= since ?? .min
                        && r.timeFlowEndMs < until ?? .max
                }.count
                #expect(
                    try await store.query(query).total == expected,
                    "\(recordType.map(\.name) ?? "any") in \(since.map { $0 - Self.hour } ?? -1)..<\(until.map { $0 - Self.hour } ?? -1)"
                )
            }
        }
    }

    @Test func totalsAgreeWithTheRows() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        var records = Self.records(count: 3000, seed: 7, from: Self.hour)
        try await t.store.insert(records)
        try await expectTotals(t.store, records, seed: 1)

        // Late: records of minutes already counted, in both hours.
        let late = Self.records(count: 500, seed: 8, from: Self.hour)
        try await t.store.insert(late)
        records += late
        try await expectTotals(t.store, records, seed: 2)

        // Retention drops the first hour, its minutes with it.
        try await t.store.dropPartitions(endedBefore: Self.hour + 3_600_000)
        records.removeAll { $0.timeFlowEndMs < Self.hour + 3_600_000 }
        try await expectTotals(t.store, records, seed: 3)
    }
}
