import DNSFlowCore
import DNSFlowTestSupport
import Foundation
import Logging
import Testing

@testable import DNSFlowStore

/// The ClickHouse store against a real `clickhouse-server` on loopback, answering as the SQLite store does.
@Suite struct ClickHouseStoreTests {
    /// Runs `body` with a store over a server of its own, removed afterwards.
    static func withStore(_ body: (ClickHouseStore) async throws -> Void) async throws {
        let server = try ClickHouseServer()
        try await ClickHouseServer.running([server]) {
            let endpoint = try ClickHouseEndpoint(url: server.storeURL(database: "dnsflow_test"))
            try await body(ClickHouseStore(endpoint: endpoint, logger: Logger(label: "test")))
        }
    }

    /// Every kind of record the agent sends, with distinct end times so that newest first is one order.
    static let records: [FlowRecord] = {
        var full = dnsRecord(id: 65535, name: "a.example.test", rcode: "NXDomain", latency: 12.3, endMs: 5000)
        full.srcAddr = "fd00::2"
        full.dstAddr = "fd00::53"
        full.bytes = .max
        full.interfaces = ["eth0", "we\"ird\\if", "a,b", ""]
        full.dnsRetransmits = 2
        var transaction = SampleRecords.dnatLookup(id: 9, endMs: 6000)
        transaction.requester = Requester(pid: .max, comm: "dig", cgroupId: .max, containerId: "c", podUid: "p")
        var nxdomain = SampleRecords.dnatLookup(id: 10, endMs: 7000)
        nxdomain.dnsAnswers = DNSAnswers.none
        nxdomain.xlatDstAddr = "fd00::53"
        var kubernetes = SampleRecords.dnatLookup(id: 11, endMs: 7500)
        kubernetes.srcK8S = KubernetesObject(
            kind: .pod, name: "checkout-7d9f", namespace: "shop", ownerName: "checkout", ownerType: "Deployment",
            hostName: "worker-3")
        kubernetes.dstK8S = KubernetesObject(kind: .service, name: "kube-dns", namespace: "kube-system")
        kubernetes.xlatDstK8S = KubernetesObject(kind: .pod, name: "coredns-1", namespace: "kube-system")
        kubernetes.dnsCacheHit = false
        kubernetes.dnsUpstream = [
            DNSLinkedLookup(addr: "fd00::53", port: 53, dnsId: 900, latencyNs: 4, rcode: .noError)
        ]
        kubernetes.dnsServes = [DNSLinkedLookup(addr: "10.0.0.2", port: 40_000, dnsId: 7)]
        kubernetes.dnsServerSource = .dnstap
        var alert = SampleRecords.namedConnection(endMs: 8100)
        alert.recordType = .dnsAlert
        alert.dnsAlertReason = "150 unique subdomains within a minute"
        return [
            full, transaction, nxdomain, SampleRecords.namedConnection(endMs: 8000), kubernetes, alert,
            SampleRecords.resolution(endMs: 8200),
            dnsRecord(id: 4242, name: "api.example.test", latency: 7, endMs: 1000),
            dnsRecord(id: 4242, name: "API.Example.test", rcode: "NXDomain", latency: 2, endMs: 2000, node: "node-b"),
            dnsRecord(id: 7, name: "www.other.test", rcode: "ServFail", latency: 30, endMs: 3000, srcPort: 5353),
            dnsRecord(id: 8, name: "x_y.example.test", latency: nil, endMs: 4000, errno: 110),
            queryRecord(id: 8, name: "x_y.example.test"),
        ]
    }()

    @Test func answersAsTheSQLiteStoreDoes() async throws {
        try await Self.withStore { store in try await Self.compare(store) }
    }

    private static func compare(_ store: ClickHouseStore) async throws {
        let sqlite = try TemporaryStore()
        defer { sqlite.remove() }
        try await store.insert(records)
        try await sqlite.store.insert(records)

        let all = try await store.query(FlowQuery())
        #expect(all.total == records.count)
        #expect(Set(all.flows) == Set(records), "every field round-trips")
        let queries =
            [
                FlowQuery(), FlowQuery(limit: 3), FlowQuery(dnsId: 4242), FlowQuery(dnsId: 9),
                FlowQuery(dnsName: "api.example.test"), FlowQuery(dnsName: "*.example.test"),
                FlowQuery(dnsName: "x_y.*"),
                FlowQuery(dnsName: "x%y.*"), FlowQuery(recordType: .flow), FlowQuery(recordType: .dnsTransaction),
                FlowQuery(rcode: DNSResponseCode(name: "nxdomain")), FlowQuery(minLatencyMs: 5),
                FlowQuery(minLatencyMs: 5, maxLatencyMs: 10), FlowQuery(errno: 110), FlowQuery(port: 5353),
                FlowQuery(port: 53), FlowQuery(node: "node-b"), FlowQuery(since: 2000, until: 4000),
                FlowQuery(srcAddr: "fd00::2"), FlowQuery(dstAddr: "10.0.0.53", limit: 2), FlowQuery(until: .min),
                FlowQuery(since: .max), FlowQuery(node: "it's \\ odd"),
            ] + Self.lookupQueries
        for query in queries {
            let expected = try await sqlite.store.query(query)
            let page = try await store.query(query)
            #expect(page == expected, "\(query)")
        }
        for by in TopQuery.Key.allCases {
            for stat in TopQuery.Stat.allCases {
                for order in TopQuery.Order.allCases {
                    let query = TopQuery(by: by, stat: stat, order: order, since: 0, until: 10_000)
                    let (got, expected) = (try await store.top(query), try await sqlite.store.top(query))
                    #expect(got == expected, "\(by) \(stat) \(order): \(got) against SQLite's \(expected)")
                }
            }
        }
        for metric in TimeSeriesQuery.Metric.allCases {
            for (step, filter) in [(60_000, FlowQuery()), (1_000, FlowQuery()), (60_000, FlowQuery(node: "node-a"))] {
                // 30 s past the last minute: the rollup's last minute reaches past `until`, and so does ClickHouse's.
                let query = TimeSeriesQuery(metric: metric, stepMs: Int64(step), since: 0, until: 8_500, filter: filter)
                #expect(try await store.timeSeries(query) == (try await sqlite.store.timeSeries(query)), "\(query)")
            }
        }
        #expect(
            try await store.latencyHistogram(since: 0, until: 10_000)
                == (try await sqlite.store.latencyHistogram(since: 0, until: 10_000)))
        #expect(try await store.count() == records.count)
    }

    /// The lookups page's filters and orders.
    static let lookupQueries: [FlowQuery] = {
        var queries: [FlowQuery] = []
        for client in ["10.0.1.2", "client", "0123456789ab", "nobody"] {
            var query = FlowQuery()
            query.client = client
            queries.append(query)
        }
        var query = FlowQuery(recordType: .dnsTransaction)
        query.comm = "dig"
        queries.append(query)
        query = FlowQuery()
        query.server = "10.0.2.53"
        queries.append(query)
        query = FlowQuery()
        query.errorsOnly = true
        queries.append(query)
        query = FlowQuery(limit: 4)
        query.order = .latency
        query.offset = 2
        queries.append(query)
        query = FlowQuery(limit: 2)
        query.offset = 3
        queries.append(query)
        return queries
    }()

    @Test func retentionDropsWholeHours() async throws {
        try await Self.withStore { store in
            let hour: Int64 = 3_600_000
            let base = 470_000 * hour
            try await store.insert([base + 10, base + 20, base + hour + 5].map { dnsRecord(id: 1, endMs: $0) })
            #expect(try await store.dropPartitions(endedBefore: base + hour - 1) == 0, "the hour has not ended")
            #expect(try await store.dropPartitions(endedBefore: base + hour) == 2)
            #expect(try await store.query(FlowQuery()).flows.map(\.timeFlowEndMs) == [base + hour + 5])
            let rate = try await store.timeSeries(
                TimeSeriesQuery(metric: .rate, stepMs: hour, since: base, until: base + 2 * hour))
            #expect(rate.series == [.init(key: "NoError", values: [0, 1.0 / 3600])], "the rollup's hour went too")
            #expect(try await store.dropPartitions(endedBefore: base + hour) == 0)
        }
    }

    /// Nothing listens: the insert is retried, then fails with a message naming the server, and the writer
    /// answers `.failed`.
    @Test func anUnreachableServerFailsTheBatchAfterRetries() async throws {
        let endpoint = ClickHouseEndpoint(host: "127.0.0.1", port: 1, database: "none")
        let store = ClickHouseStore(
            endpoint: endpoint, retry: ClickHouseRetry(attempts: 3, initial: .milliseconds(20)),
            logger: Logger(label: "test"))
        let started = ContinuousClock.now
        await #expect(throws: StoreError.self) { try await store.insert([dnsRecord(id: 1)]) }
        #expect(ContinuousClock.now - started >= .milliseconds(60), "two waits: 20 ms, then 40 ms")
        let error = await #expect(throws: StoreError.self) { try await store.query(FlowQuery()) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("cannot reach ClickHouse at clickhouse://127.0.0.1:1/none"))
        let writer = FlowWriter(store: store, queueSize: 4, logger: Logger(label: "test"))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await writer.run() }
            #expect(await writer.write([dnsRecord(id: 2)]) == .failed)
            group.cancelAll()
        }
    }

    @Test func backoffDoublesUpToItsMaximum() {
        let retry = ClickHouseRetry(attempts: 6, initial: .milliseconds(100), maximum: .milliseconds(500))
        #expect(
            (1...6).map { retry.delay(afterFailures: $0) } == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500), nil,
            ])
    }

    @Test func endpointURLs() throws {
        let endpoint = try ClickHouseEndpoint(url: "clickhouse://ch.example:8124/flows?user=u&password=p&cluster=c1")
        #expect(
            endpoint
                == ClickHouseEndpoint(
                    host: "ch.example", port: 8124, database: "flows", user: "u", password: "p", cluster: "c1"))
        #expect(endpoint.description == "clickhouse://ch.example:8124/flows?user=u&cluster=c1", "no password")
        #expect(try ClickHouseEndpoint(url: "clickhouse://[::1]").baseURL == "http://[::1]:8123/")
        for bad in ["http://x/db", "clickhouse:///db", "clickhouse://x/d-b", "clickhouse://x/db?pass=1"] {
            #expect(throws: ClickHouseEndpointError.self, "\(bad)") { try ClickHouseEndpoint(url: bad) }
        }
    }

    @Test func literalsEscapeQuotesAndBackslashes() {
        #expect(ClickHouseSchema.literal("it's \\ x") == #"'it\'s \\ x'"#)
        #expect(ClickHouseSchema.bytes([10, 0, 0, 255]) == "unhex('0A0000FF')")
    }
}
