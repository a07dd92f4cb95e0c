import DNSFlowCore
import Testing

@testable import DNSFlowStore

@Suite struct FlowStoreTests {
    @Test func roundTripKeepsEveryField() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let full = FlowRecord(
            srcAddr: "fd00::2", dstAddr: "fd00::53", srcPort: 65535, dstPort: 53, proto: 6, etype: 0x86DD,
            bytes: UInt64.max, packets: 1 << 40, timeFlowStartMs: 1_700_000_000_001, timeFlowEndMs: 1_700_000_000_999,
            interfaces: ["eth0", "we\"ird\\if"], ifDirections: [0, 1], flags: 0x12, netNs: UInt32.max,
            nodeName: "node-ü", dnsId: 65535, dnsFlags: 0x8183, dnsFlagsResponseCode: "NXDomain",
            dnsLatencyMs: 12.345678, dnsName: "a.example.test", dnsQType: "AAAA", dnsErrno: 110
        )
        let plain = FlowRecord(
            srcAddr: "10.1.1.1", dstAddr: "10.1.1.2", srcPort: 1, dstPort: 2, proto: 17, etype: 0x0800, bytes: 0,
            packets: 0, timeFlowStartMs: 1, timeFlowEndMs: 2, interfaces: [], ifDirections: [], flags: 0, netNs: 0,
            nodeName: ""
        )
        try await t.store.insert([full, plain])
        let page = try await t.store.query(FlowQuery())
        #expect(page.total == 2)
        #expect(page.flows == [full, plain])
    }

    @Test func queriesUseTheIndexes() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // The DNS indexes are partial (IS NOT NULL); a filter on the column must still select them.
        #expect(try await t.store.queryPlan(FlowQuery(dnsId: 4242)).contains("USING INDEX flows_dns_id"))
        #expect(try await t.store.queryPlan(FlowQuery(dnsName: "api.example.test")).contains("USING INDEX flows_dns_name"))
        #expect(try await t.store.queryPlan(FlowQuery(dnsName: "api.*")).contains("USING INDEX flows_dns_name"))
        #expect(try await t.store.queryPlan(FlowQuery(since: 1, until: 2)).contains("USING INDEX flows_time"))
        #expect(try await t.store.queryPlan(FlowQuery(minLatencyMs: 5, since: 1)).contains("USING INDEX flows_time"))
    }

    @Test func filtersNarrowTheResult() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([
            dnsRecord(id: 4242, name: "api.example.test", latency: 7, endMs: 1000),
            dnsRecord(id: 4242, name: "API.Example.test", rcode: "NXDomain", latency: 2, endMs: 2000, node: "node-b"),
            dnsRecord(id: 7, name: "www.other.test", rcode: "ServFail", latency: 30, endMs: 3000, srcPort: 5353),
            dnsRecord(id: 8, name: "x_y.example.test", latency: nil, endMs: 4000, errno: 110),
        ])
        func ids(_ query: FlowQuery) async throws -> [UInt16?] {
            try await t.store.query(query).flows.map(\.dnsId)
        }
        #expect(try await ids(FlowQuery(dnsId: 4242)) == [4242, 4242])
        #expect(try await ids(FlowQuery(dnsName: "api.example.test")).count == 2, "exact names ignore case")
        #expect(try await ids(FlowQuery(dnsName: "*.example.test")) == [8, 4242, 4242])
        #expect(try await ids(FlowQuery(dnsName: "x_y.*")) == [8])
        #expect(try await ids(FlowQuery(dnsName: "x%y.*")) == [], "LIKE wildcards in a glob are literal")
        #expect(try await ids(FlowQuery(rcode: DNSResponseCode.code("nxdomain"))) == [4242])
        #expect(try await ids(FlowQuery(rcode: 2)) == [7])
        #expect(try await ids(FlowQuery(minLatencyMs: 5)) == [7, 4242])
        #expect(try await ids(FlowQuery(minLatencyMs: 5, maxLatencyMs: 10)) == [4242])
        #expect(try await ids(FlowQuery(errno: 110)) == [8])
        #expect(try await ids(FlowQuery(port: 5353)) == [7])
        #expect(try await ids(FlowQuery(port: 53)).count == 4, "port matches the destination too")
        #expect(try await ids(FlowQuery(node: "node-b")) == [4242])
        #expect(try await ids(FlowQuery(since: 2000, until: 4000)) == [7, 4242])
        #expect(try await ids(FlowQuery(srcAddr: "10.0.0.2", dstAddr: "10.0.0.9")) == [])
    }

    @Test func newestFirstWithTotalBeyondTheLimit() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert((0..<50).map { dnsRecord(id: UInt16($0), endMs: Int64($0)) })
        let page = try await t.store.query(FlowQuery(limit: 5))
        #expect(page.total == 50)
        #expect(page.flows.map(\.dnsId) == [49, 48, 47, 46, 45])
        #expect(FlowQuery(limit: 1_000_000).limit == FlowQuery.maxLimit)
    }

    @Test func retentionDeletesOnlyOldRows() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let now: Int64 = 10_000_000_000
        try await t.store.insert([
            dnsRecord(id: 1, endMs: now - 25 * 3_600_000), dnsRecord(id: 2, endMs: now - 24 * 3_600_000 - 1),
            dnsRecord(id: 3, endMs: now - 3_600_000),
        ])
        let retention = RetentionService(store: t.store, retention: .seconds(24 * 3600), logger: .init(label: "test"))
        await retention.sweep(now: now)
        #expect(try await t.store.query(FlowQuery()).flows.map(\.dnsId) == [3])
        #expect(try await t.store.deleteFlows(endedBefore: now, chunk: 1) == 1, "chunked deletes run to the end")
    }

    @Test func topRanksByStatisticAndRcodeByCount() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert(
            (1...10).map { dnsRecord(id: 1, name: "slow.test", latency: Double($0) * 10) }
                + (1...3).map { _ in dnsRecord(id: 2, name: "fast.test", rcode: "NXDomain", latency: 1) }
                + [dnsRecord(id: 3, name: "lost.test", latency: nil, errno: 110)]
                + [queryRecord(id: 4, name: "asked.test")]
        )
        let avg = try await t.store.top(TopQuery(by: .name, stat: .avg))
        #expect(avg.map(\.key) == ["slow.test", "fast.test", "lost.test"])
        #expect(avg.first?.value == 55)
        #expect(try await t.store.top(TopQuery(by: .name, stat: .p90)).first?.value == 90)
        #expect(try await t.store.top(TopQuery(by: .name, stat: .max)).first?.value == 100)
        let rcodes = try await t.store.top(TopQuery(by: .rcode))
        #expect(rcodes.map(\.key) == ["NoError", "NXDomain"])
        #expect(rcodes.map(\.count) == [11, 3], "the query-side record of id 4 is no transaction outcome")
        #expect(try await t.store.top(TopQuery(by: .client)).map(\.key) == ["10.0.0.2"])
        #expect(try await t.store.top(TopQuery(by: .latency, limit: 1)).map(\.key) == ["10.0.0.2 → 10.0.0.53"])
    }

    @Test func percentilesAreNearestRank() {
        let values = (1...100).map(Double.init)
        #expect(TopRanking.percentile(0.99, of: values) == 99)
        #expect(TopRanking.percentile(0.90, of: [5]) == 5)
    }

    @Test func histogramBucketsLatencies() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([0.5, 1, 7, 7.5, 2000].map { dnsRecord(id: 1, latency: $0) } + [dnsRecord(id: 2, latency: nil)])
        let buckets = try await t.store.latencyHistogram(since: nil, until: nil)
        #expect(buckets.count == LatencyBucket.bounds.count + 1)
        #expect(buckets.map(\.count) == [1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1])
        #expect(buckets.last?.upperMs == nil)
    }
}
