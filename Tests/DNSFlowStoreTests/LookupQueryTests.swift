import DNSFlowCore
import Foundation
import Testing

@testable import DNSFlowStore

/// The queries the page and `GET /api/v1/lookups` ask: lookups filtered, sorted and paged; time series; rankings.
@Suite struct LookupQueryTests {
    static let hour: Int64 = 1_700_002_800_000  // an hour boundary

    static func lookup(
        id: UInt16, at endMs: Int64, latency: Double?, rcode: DNSResponseCode? = "NoError", name: String = "a.test",
        client: String? = nil, comm: String? = nil, server: IPAddress = "10.0.0.53", errno: UInt8 = 0
    ) -> FlowRecord {
        var r = dnsRecord(id: id, name: name, latency: latency, endMs: endMs, dst: server, errno: errno)
        r.recordType = .dnsTransaction
        r.dnsFlagsResponseCode = rcode
        r.netNsName = client
        if let comm { r.requester = Requester(pid: 1, comm: comm, cgroupId: 2) }
        return r
    }

    @Test func filtersByClientCommServerAndFailure() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([
            Self.lookup(id: 1, at: Self.hour + 1, latency: 1, client: "checkout", comm: "curl"),
            Self.lookup(id: 2, at: Self.hour + 2, latency: 2, rcode: "NXDomain", client: "checkout", comm: "dig"),
            Self.lookup(id: 3, at: Self.hour + 3, latency: nil, rcode: nil, client: "cart", errno: 110),
            Self.lookup(id: 4, at: Self.hour + 4, latency: 4, server: "10.96.0.10"),
        ])
        func ids(_ configure: (inout FlowQuery) -> Void) async throws -> [UInt16?] {
            var query = FlowQuery()
            configure(&query)
            return try await t.store.query(query).flows.map(\.dnsId)
        }
        #expect(try await ids { $0.client = "checkout" } == [2, 1])
        #expect(try await ids { $0.client = "10.0.0.2" } == [4, 3, 2, 1], "an address matches SrcAddr")
        #expect(try await ids { $0.comm = "dig" } == [2])
        #expect(try await ids { $0.server = "10.96.0.10" } == [4])
        #expect(try await ids { $0.errorsOnly = true } == [3, 2], "NXDomain and the timeout, not NoError")
    }

    @Test func slowestFirstAndOffsetPagesAcrossHours() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // Two hours; latencies chosen so the slowest are spread over both.
        let latencies: [Double?] = [5, 1, 9, nil, 3, 7, 2, 8]
        try await t.store.insert(
            latencies.enumerated().map { i, latency in
                Self.lookup(id: UInt16(i), at: Self.hour + Int64(i) * 1_000_000, latency: latency)
            })
        var query = FlowQuery(limit: 3)
        query.order = .latency
        #expect(try await t.store.query(query).flows.map(\.dnsId) == [2, 7, 5])
        query.offset = 3
        let second = try await t.store.query(query)
        #expect(second.flows.map(\.dnsId) == [0, 4, 6] && second.total == 8)
        query.offset = 6
        #expect(try await t.store.query(query).flows.map(\.dnsId) == [1, 3], "no latency last")
        var newest = FlowQuery(limit: 3)
        newest.offset = 2
        #expect(try await t.store.query(newest).flows.map(\.dnsId) == [5, 4, 3], "offset skips across hours")
    }

    @Test func rateSeriesCountsEachStepByOutcome() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // Minute 0: 3 NoError, 1 NXDomain; minute 1: 1 timeout; minute 2: nothing.
        try await t.store.insert([
            Self.lookup(id: 1, at: Self.hour + 1_000, latency: 1),
            Self.lookup(id: 2, at: Self.hour + 2_000, latency: 1),
            Self.lookup(id: 3, at: Self.hour + 59_999, latency: 1),
            Self.lookup(id: 4, at: Self.hour + 30_000, latency: 2, rcode: "NXDomain"),
            Self.lookup(id: 5, at: Self.hour + 61_000, latency: nil, rcode: nil, errno: 110),
        ])
        let query = TimeSeriesQuery(metric: .rate, stepMs: 60_000, since: Self.hour, until: Self.hour + 180_000)
        #expect(query.fitsRollup)
        let series = try await t.store.timeSeries(query)
        let byKey = Dictionary(uniqueKeysWithValues: series.series.map { ($0.key, $0.values) })
        #expect(byKey["NoError"] == [3.0 / 60, 0, 0])
        #expect(byKey["NXDomain"] == [1.0 / 60, 0, 0])
        #expect(byKey["timeout"] == [0, 1.0 / 60, 0])
        // The same from the rows, as a filtered query reads them.
        var rows = query
        rows.filter.recordType = .dnsTransaction
        #expect(!rows.fitsRollup)
        #expect(try await t.store.timeSeries(rows).series == series.series)
        var nxdomain = query
        nxdomain.filter.rcode = "NXDomain"
        #expect(try await t.store.timeSeries(nxdomain).series.map(\.key) == ["NXDomain"])
    }

    @Test func latencyPercentilesAreWithinABucketOfTheTruth() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // 1..100 ms in one minute: p50 50 ms, p90 90 ms, p99 99 ms.
        try await t.store.insert(
            (1...100).map { Self.lookup(id: UInt16($0), at: Self.hour + Int64($0), latency: Double($0)) })
        let query = TimeSeriesQuery(metric: .latency, stepMs: 60_000, since: Self.hour, until: Self.hour + 120_000)
        let series = try await t.store.timeSeries(query)
        let values = Dictionary(uniqueKeysWithValues: series.series.map { ($0.key, $0.values) })
        for (stat, truth) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)] {
            let value = try #require(values[stat]?.first ?? nil)
            #expect(abs(value - truth) / truth < 0.05, "\(stat) \(value) vs \(truth)")
            #expect(values[stat]?.last == .some(nil), "an empty step has no percentile")
        }
    }

    @Test func stepsAreCutFromTheRange() {
        #expect(TimeSeriesQuery.step(forRangeMs: 3_600_000) == 60_000)
        #expect(TimeSeriesQuery.step(forRangeMs: 86_400_000) == 1_800_000)
        #expect(TimeSeriesQuery.step(forRangeMs: 300_000) == 5_000)
        let query = TimeSeriesQuery(metric: .rate, since: Self.hour + 12_345, until: Self.hour + 3_612_345)
        #expect(query.since == Self.hour && query.count == 61, "since moves back to a whole step")
    }

    @Test func retentionDropsTheRollupWithTheHours() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([
            Self.lookup(id: 1, at: Self.hour + 1, latency: 1),
            Self.lookup(id: 2, at: Self.hour + FlowPartition.spanMs + 1, latency: 1),
        ])
        try await t.store.dropPartitions(endedBefore: Self.hour + FlowPartition.spanMs)
        let query = TimeSeriesQuery(
            metric: .rate, stepMs: FlowPartition.spanMs, since: Self.hour, until: Self.hour + 2 * FlowPartition.spanMs)
        let values = try await t.store.timeSeries(query).series.first?.values
        #expect(values == [0, 1.0 / 3600])
    }

    @Test func topRanksClientsServersAndNamesByErrors() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([
            Self.lookup(id: 1, at: Self.hour + 1, latency: 1, name: "ok.test", client: "checkout", comm: "curl"),
            Self.lookup(id: 2, at: Self.hour + 2, latency: 3, rcode: "NXDomain", name: "gone.test", client: "checkout"),
            Self.lookup(id: 3, at: Self.hour + 3, latency: 2, rcode: "NXDomain", name: "gone.test"),
            Self.lookup(
                id: 4, at: Self.hour + 4, latency: 9, rcode: "ServFail", name: "bad.test", server: "10.96.0.10"),
            Self.lookup(id: 5, at: Self.hour + 5, latency: 1, name: "ok.test", client: "checkout"),
        ])
        let clients = try await t.store.top(TopQuery(by: .client, order: .count))
        #expect(clients.map(\.key) == ["checkout", "10.0.0.2"], "the name over the address")
        #expect(clients.map(\.errors) == [1, 2])
        let errors = try await t.store.top(TopQuery(by: .name, order: .errors))
        #expect(errors.map(\.key) == ["gone.test", "bad.test"], "names without errors are left out")
        let servers = try await t.store.top(TopQuery(by: .server, stat: .max))
        #expect(servers.map(\.key) == ["10.96.0.10", "10.0.0.53"] && servers.map(\.value) == [9, 3])
        var filter = FlowQuery()
        filter.client = "checkout"
        let comms = try await t.store.top(TopQuery(by: .comm, order: .count, filter: filter))
        #expect(comms.map(\.key).sorted() == ["", "curl"])
    }
}
