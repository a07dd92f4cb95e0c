import DNSFlowCore
import DNSFlowTestSupport
import Foundation
import GRDB
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
            dnsLatencyNs: 12_345_678, dnsName: "a.example.test", dnsQType: "AAAA", dnsErrno: 110
        )
        let plain = FlowRecord(
            srcAddr: "10.1.1.1", dstAddr: "10.1.1.2", srcPort: 1, dstPort: 2, proto: 17, etype: 0x0800, bytes: 0,
            packets: 0, timeFlowStartMs: 1, timeFlowEndMs: 2, interfaces: [], ifDirections: [], flags: 0, netNs: 0,
            nodeName: ""
        )
        var odd = plain
        odd.timeFlowEndMs = 1
        odd.interfaces = ["a,b", "", "ü", "c\",\"d"]
        odd.ifDirections = [255, 0]
        var transaction = SampleRecords.dnatLookup(id: 9, endMs: 1_700_000_000_998)
        transaction.requester = Requester(pid: .max, comm: "dig", cgroupId: .max, containerId: "c", podUid: "p")
        transaction.dnsStages[3].latencyNs = nil
        var nxdomain = SampleRecords.dnatLookup(id: 10, endMs: 1_700_000_000_997)
        nxdomain.dnsAnswers = DNSAnswers.none
        nxdomain.requester = Requester(pid: 1, comm: "", cgroupId: 0)
        nxdomain.xlatDstAddr = "fd00::53"
        let named = SampleRecords.namedConnection(endMs: 1_700_000_000_996)
        try await t.store.insert([full, plain, odd, transaction, nxdomain, named])
        let page = try await t.store.query(FlowQuery())
        #expect(page.total == 6)
        #expect(page.flows == [full, transaction, nxdomain, named, plain, odd])
    }

    /// A lookup seen on two nodes: one row each, with its stages; flows and transactions apart.
    @Test func aDNSIdAnswersOneRowPerTransactionAndNode() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([
            SampleRecords.dnatLookup(id: 4242, endMs: 1000, node: "node-a"),
            SampleRecords.dnatLookup(id: 4242, endMs: 1001, node: "node-b"),
            SampleRecords.dnatLookup(id: 7, endMs: 1002), SampleRecords.namedConnection(endMs: 1003),
        ])
        let lookup = try await t.store.query(FlowQuery(dnsId: 4242))
        #expect(lookup.total == 2)
        #expect(lookup.flows.map(\.nodeName) == ["node-b", "node-a"])
        #expect(lookup.flows.allSatisfy { $0.dnsStages == SampleRecords.dnatLookup().dnsStages })
        #expect(lookup.flows.first?.dnsStages.map(\.latencyNs) == [713_000, 698_000, 483_000, 469_123])
        let transactions = try await t.store.query(FlowQuery(recordType: .dnsTransaction))
        #expect(transactions.total == 3 && transactions.flows.allSatisfy(\.isTransaction))
        let flows = try await t.store.query(FlowQuery(recordType: .flow))
        #expect(flows.flows.map(\.dstDnsName) == ["web.example.test"] && flows.total == 1)
        #expect(try await t.store.query(FlowQuery(recordType: .flow, dnsId: 4242)).total == 0)
        #expect(try await t.store.query(FlowQuery(recordType: .dnsTransaction, dnsId: 4242)).total == 2)
    }

    @Test func queriesUseTheIndexes() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([dnsRecord(id: 4242, endMs: 1_700_000_000_000)])
        // An id or an exact name: its posting list, then only the rows it lists, by row id.
        for query in [
            FlowQuery(dnsId: 4242), FlowQuery(dnsId: 4242, rcode: .nameError, since: 1, until: 1_800_000_000_000),
        ] {
            let plan = try await t.store.queryPlan(query)
            #expect(plan.contains("USING PRIMARY KEY (run=? AND dns_id=?)") && plan.contains("(rowid=?)"), "\(plan)")
        }
        let name = try await t.store.queryPlan(FlowQuery(dnsName: "API.example.test"))
        #expect(name.contains("USING PRIMARY KEY (run=? AND name_hash=?)") && name.contains("(rowid=?)"), "\(name)")
        // The time window is a range of the row ids, which lead with the end time.
        let window = try await t.store.queryPlan(FlowQuery(since: 1, until: 1_800_000_000_000))
        #expect(window.contains("USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), "\(window)")
        #expect(try await t.store.queryPlan(FlowQuery(minLatencyMs: 5, since: 1)).contains("USING INTEGER PRIMARY KEY"))
        #expect(!(window + name).contains("TEMP B-TREE"), "newest first is the table's own order")
    }

    @Test func aWindowReadsOnlyTheHoursItCovers() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let hour: Int64 = 3_600_000
        let base = 470_000 * hour
        try await t.store.insert([base, base + hour, base + 2 * hour].map { dnsRecord(id: 1, endMs: $0 + 10) })
        #expect(try await t.store.queryPlan(FlowQuery()).components(separatedBy: "SCAN").count - 1 == 3)
        let plan = try await t.store.queryPlan(FlowQuery(since: base + hour, until: base + 2 * hour))
        #expect(
            plan.contains("flows_470001") && !plan.contains("flows_470000") && !plan.contains("flows_470002"), "\(plan)"
        )
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
        #expect(try await ids(FlowQuery(rcode: DNSResponseCode(name: "nxdomain"))) == [4242])
        #expect(try await ids(FlowQuery(rcode: .serverFailure)) == [7])
        #expect(try await ids(FlowQuery(minLatencyMs: 5)) == [7, 4242])
        #expect(try await ids(FlowQuery(minLatencyMs: 5, maxLatencyMs: 10)) == [4242])
        #expect(try await ids(FlowQuery(errno: 110)) == [8])
        #expect(try await ids(FlowQuery(port: 5353)) == [7])
        #expect(try await ids(FlowQuery(port: 53)).count == 4, "port matches the destination too")
        #expect(try await ids(FlowQuery(node: "node-b")) == [4242])
        #expect(try await ids(FlowQuery(since: 2000, until: 4000)) == [7, 4242])
        #expect(try await ids(FlowQuery(srcAddr: "10.0.0.2", dstAddr: "10.0.0.9")) == [])
        #expect(try await ids(FlowQuery(until: .min)) == [], "no time is before the first")
        #expect(try await ids(FlowQuery(since: .max)) == [])
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

    @Test func pagesAndTotalsSpanHours() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let hour: Int64 = 3_600_000
        let base = 470_000 * hour
        // One batch over three hours, out of order, two flows per hour.
        let ends = [base + 2 * hour + 5, base + 1, base + hour + 7, base + 2 * hour + 6, base + 2, base + hour + 8]
        try await t.store.insert(ends.enumerated().map { dnsRecord(id: UInt16($0), endMs: $1) })
        let newestFirst = ends.enumerated().sorted { $0.element > $1.element }.map { UInt16($0.offset) }
        #expect(try await t.store.query(FlowQuery(limit: 3)).flows.map(\.dnsId) == Array(newestFirst.prefix(3)))
        #expect(try await t.store.query(FlowQuery(limit: 3)).total == 6)
        // A window covering the middle hour whole and a part of the last.
        let window = try await t.store.query(FlowQuery(since: base + hour, until: base + 2 * hour + 6))
        #expect(window.flows.map(\.timeFlowEndMs) == [base + 2 * hour + 5, base + hour + 8, base + hour + 7])
        #expect(window.total == 3)
        #expect(try await t.store.query(FlowQuery(dnsId: 2, since: base)).total == 1)
        // An id alone is counted from its posting lists, an id with another filter from the rows.
        try await t.store.insert(
            [base + 3, base + hour + 9, base + 2 * hour + 9].map { dnsRecord(id: 100, endMs: $0) })
        #expect(try await t.store.query(FlowQuery(dnsId: 100)).total == 3)
        #expect(try await t.store.query(FlowQuery(dnsId: 100, since: base + 4, until: base + 2 * hour + 9)).total == 1)
        #expect(try await t.store.query(FlowQuery(dnsId: 100, rcode: .noError, since: base + 4)).total == 2)
        #expect(try await t.store.count() == 9)
    }

    @Test func postingListsSpanRuns() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // Three transactions into one hour: the third starts past `runRows` rows, so its lists open run 1.
        let batch = 40_000
        #expect(batch < FlowPostings.runRows && 2 * batch > FlowPostings.runRows)
        for n in 0..<3 {
            try await t.store.insert(
                (0..<batch).map {
                    dnsRecord(id: UInt16($0 % 1000), name: "h\($0 % 10).test", endMs: 1_700_000_000_000 + Int64(n))
                }
            )
        }
        #expect(try await t.store.query(FlowQuery(dnsId: 7)).total == 120)
        let third = try await t.store.query(FlowQuery(dnsId: 7, since: 1_700_000_000_002))
        #expect(third.total == 40 && third.flows.count == 40)
        #expect(try await t.store.query(FlowQuery(dnsName: "H3.test")).total == 12_000)
    }

    @Test func flowsEndingInTheSameMillisecondAllStay() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // More than a multi-row statement's worth, and a remainder inserted row by row.
        let batch = (0..<100).map { dnsRecord(id: UInt16($0), endMs: 1_700_000_000_000) }
        try await t.store.insert(batch)
        // A second store on the file numbers its rows from the start again: every id collides and moves on.
        let reopened = try FlowStore(path: t.directory.appendingPathComponent("flows.sqlite").path)
        try await reopened.insert(batch)
        let page = try await reopened.query(FlowQuery(limit: 1000))
        #expect(page.total == 200 && page.flows.count == 200)
        #expect(page.flows.filter { $0.dnsId == 7 }.count == 2)
        #expect(try await reopened.query(FlowQuery(dnsId: 70)).flows.count == 2, "the posting lists hold the moved ids")
    }

    @Test func retentionDropsWholeHours() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let now: Int64 = 10_000_000_000  // 46 min 40 s into an hour
        try await t.store.insert([
            dnsRecord(id: 1, endMs: now - 25 * 3_600_000), dnsRecord(id: 2, endMs: now - 24 * 3_600_000 - 1),
            dnsRecord(id: 3, endMs: now - 3_600_000),
        ])
        let retention = RetentionService(store: t.store, retention: .seconds(24 * 3600), logger: .init(label: "test"))
        await retention.sweep(now: now)
        #expect(
            try await t.store.query(FlowQuery()).flows.map(\.dnsId) == [3, 2], "id 2's hour has not ended 24 h ago")
        await retention.sweep(now: now + 3_600_000)
        #expect(try await t.store.query(FlowQuery()).flows.map(\.dnsId) == [3])
        #expect(try await t.store.count() == 1)
        #expect(try await t.store.dropPartitions(endedBefore: now) == 1, "the flows it dropped")
    }

    @Test func theSchemaIsOneVersionAndReopens() async throws {
        #expect(FlowSchema.migrator().migrations == ["v1"])
        let t = try TemporaryStore()
        defer { t.remove() }
        try await t.store.insert([dnsRecord(id: 4242, name: "v1.example.test")])
        let reopened = try FlowStore(path: t.directory.appendingPathComponent("flows.sqlite").path)
        #expect(try await reopened.query(FlowQuery(dnsName: "V1.example.test")).flows.map(\.dnsId) == [4242])
    }

    @Test func anUnopenableStoreSaysWhatToCheck() {
        let error = #expect(throws: StoreError.self) { try FlowStore(path: "/proc/dnsflow-no/such/dir/flows.sqlite") }
        #expect(error?.description.contains("check the directory exists and is writable") == true)
        #expect(error?.underlying is DatabaseError)
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
        try await t.store.insert(
            [0.5, 1, 7, 7.5, 2000].map { dnsRecord(id: 1, latency: $0) } + [dnsRecord(id: 2, latency: nil)])
        let buckets = try await t.store.latencyHistogram(since: nil, until: nil)
        #expect(buckets.count == LatencyBucket.bounds.count + 1)
        #expect(buckets.map(\.count) == [1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1])
        #expect(buckets.last?.upperMs == nil)
    }
}
