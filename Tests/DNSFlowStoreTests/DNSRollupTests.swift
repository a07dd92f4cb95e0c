import DNSFlowCore
import Foundation
import Testing

@testable import DNSFlowStore

/// A series from the rollup's spans must be the series the rows give, whatever the step and window, after late
/// records and after retention.
@Suite struct DNSRollupTests {
    static let hour = TopRankingTests.hour

    func expectRollupMatchesRows(_ store: FlowStore, seed: UInt64) async throws {
        var rng = SplitMix(seed: seed)
        for stepMs: Int64 in [60_000, 300_000, 1_800_000, 3_600_000] {
            for _ in 0..<4 {
                let since = Self.hour + Int64(rng.next() % 2) * stepMs
                // In whole minutes, as the rollup counts them, but seldom whole spans.
                let until = since + stepMs + Int64(rng.next() % 120) * 60_000
                for metric in TimeSeriesQuery.Metric.allCases {
                    let query = TimeSeriesQuery(metric: metric, stepMs: stepMs, since: since, until: until)
                    #expect(query.fitsRollup)
                    var rows = query
                    rows.filter.recordType = .dnsTransaction
                    #expect(
                        try await store.timeSeries(query) == store.timeSeries(rows),
                        "\(metric) step \(stepMs) from \(since - Self.hour) to \(until - Self.hour)")
                }
            }
        }
    }

    @Test func spansAgreeWithTheRows() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert(TopRankingTests.lookups(count: 2000, seed: 11))
        try await expectRollupMatchesRows(t.store, seed: 1)

        // Late records land in spans already written.
        try await t.store.insert(TopRankingTests.lookups(count: 300, seed: 12))
        try await expectRollupMatchesRows(t.store, seed: 2)

        try await t.store.dropPartitions(endedBefore: Self.hour + 3_600_000)
        try await expectRollupMatchesRows(t.store, seed: 3)
    }
}
