import DNSFlowCollector
import DNSFlowCore
import DNSFlowTestSupport
import Testing

@testable import DNSFlowStore

/// What the query API reads and the writer inserts into, as both stores offer it.
typealias APIStore = FlowQuerying & FlowBatchInserting

enum Backend: String, CaseIterable, Sendable {
    case sqlite, clickHouse

    /// Runs `body` with an empty store of this kind, removed afterwards (a ClickHouse server of its own).
    func withStore(_ body: (any APIStore) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let sqlite = try TemporaryStore()
            defer { sqlite.remove() }
            try await body(sqlite.store)
        case .clickHouse:
            try await ClickHouseStoreTests.withStore { try await body($0) }
        }
    }
}

/// One body per API answer, run against SQLite and ClickHouse: the page, the charts and the top panels read the
/// same numbers from either.
@Suite struct ClickHouseStoreAPITests {
    /// A whole minute, so that the time series below are answered from SQLite's rollup.
    static let start: Int64 = 1_700_000_400_000

    static let shop = KubernetesObject(
        kind: .pod, name: "checkout-7d9f", namespace: "shop", ownerName: "checkout", ownerType: "Deployment",
        hostName: "worker-3")

    /// A lookup with every Kubernetes and server-side field, a failing and a timed-out one, a resolution with every
    /// health field, an alert, an upstream query and a flow, over two minutes.
    static let records: [FlowRecord] = {
        var hit = SampleRecords.dnatLookup(id: 1, endMs: start + 1_000)
        hit.srcK8S = shop
        hit.dstK8S = KubernetesObject(kind: .service, name: "kube-dns", namespace: "kube-system")
        hit.xlatDstK8S = KubernetesObject(kind: .pod, name: "coredns-1", namespace: "kube-system")
        hit.dnsCacheHit = false
        hit.dnsUpstream = [DNSLinkedLookup(addr: "10.0.3.1", port: 53, dnsId: 900, latencyNs: 400_000, rcode: .noError)]
        hit.dnsServerSource = .dnstap
        var nxdomain = SampleRecords.dnatLookup(id: 2, endMs: start + 61_000)
        nxdomain.dnsName = "missing.example.test"
        nxdomain.dnsFlagsResponseCode = "NXDomain"
        nxdomain.dnsLatencyNs = 20_000_000
        nxdomain.dnsAnswers = nil
        nxdomain.netNsName = "cart"
        nxdomain.requester?.comm = "curl"
        nxdomain.dnsCacheHit = true
        var timeout = SampleRecords.dnatLookup(id: 3, endMs: start + 62_000)
        timeout.dnsFlagsResponseCode = nil
        timeout.dnsFlags = nil
        timeout.dnsLatencyNs = nil
        timeout.dnsErrno = DNSErrno.timedOut
        timeout.dnsAnswers = nil
        timeout.xlatDstAddr = nil
        let resolution = SampleRecords.resolution(endMs: start + 63_000)
        var alert = SampleRecords.namedConnection(endMs: start + 64_000)
        alert.recordType = .dnsAlert
        alert.dnsAlertReason = "150 unique subdomains within a minute"
        var upstream = SampleRecords.dnatLookup(id: 900, endMs: start + 65_000)
        upstream.srcAddr = "10.0.3.9"
        upstream.dnsLatencyNs = 400_000
        upstream.dnsServes = [DNSLinkedLookup(addr: "10.0.1.2", port: 53_124, dnsId: 1)]
        upstream.dnsServerSource = .packets
        upstream.requester = nil
        upstream.netNsName = nil
        return [
            hit, nxdomain, timeout, resolution, alert, upstream, SampleRecords.namedConnection(endMs: start + 66_000),
        ]
    }()

    static func newestFirst(_ records: [FlowRecord]) -> [FlowRecord] {
        records.sorted { $0.timeFlowEndMs > $1.timeFlowEndMs }
    }

    @Test(arguments: Backend.allCases) func lookups(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.insert(Self.records)
            let transactions = Self.records.filter(\.isTransaction)
            var lookups = FlowQuery(recordType: .dnsTransaction)
            let page = try await store.query(lookups)
            #expect(page == FlowPage(flows: Self.newestFirst(transactions), total: 4), "every field round-trips")
            #expect(try await store.query(FlowQuery()).flows == Self.newestFirst(Self.records))

            func ids(_ query: FlowQuery) async throws -> [UInt16?] { try await store.query(query).flows.map(\.dnsId) }
            lookups.client = "cart"
            #expect(try await ids(lookups) == [2], "by the client's namespace name")
            lookups.client = "10.0.3.9"
            #expect(try await ids(lookups) == [900], "by the client's address")
            lookups.client = nil
            lookups.comm = "curl"
            #expect(try await ids(lookups) == [2])
            lookups.comm = nil
            lookups.server = "10.0.2.53"
            #expect(try await ids(lookups) == [900, 2, 1], "by the server after NAT")
            lookups.server = nil
            lookups.errorsOnly = true
            #expect(try await ids(lookups) == [3, 2])
            lookups.errorsOnly = false
            lookups.order = .latency
            #expect(try await ids(lookups) == [2, 1, 900, 3], "slowest first, the timeout last")
            lookups.offset = 1
            lookups.limit = 2
            #expect(try await store.query(lookups) == FlowPage(flows: [transactions[0], transactions[3]], total: 4))
            #expect(try await ids(FlowQuery(dnsName: "MISSING.example.test")) == [2])
            #expect(try await store.count() == Self.records.count)
        }
    }

    @Test(arguments: Backend.allCases) func timeSeries(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.insert(Self.records)
            let rate = try await store.timeSeries(
                TimeSeriesQuery(metric: .rate, stepMs: 60_000, since: Self.start, until: Self.start + 120_000))
            #expect(
                rate
                    == TimeSeries(
                        startMs: Self.start, stepMs: 60_000,
                        series: [
                            .init(key: "NoError", values: [1 / 60, 2 / 60]),
                            .init(key: "NXDomain", values: [0, 1 / 60]),
                            .init(key: "timeout", values: [0, 1 / 60]),
                        ]))
            let bucket = { (ns: Int64) in LatencyBuckets.milliseconds(LatencyBuckets.bucket(latencyNs: ns)) }
            let latency = try await store.timeSeries(
                TimeSeriesQuery(
                    metric: .latency, stats: [.p50, .p99], stepMs: 60_000, since: Self.start,
                    until: Self.start + 180_000))
            #expect(
                latency.series == [
                    .init(key: "p50", values: [bucket(713_000), bucket(713_000), nil]),
                    .init(key: "p99", values: [bucket(713_000), bucket(20_000_000), nil]),
                ])
            // A filter: SQLite reads the rows instead of its rollup.
            var curl = FlowQuery()
            curl.comm = "curl"
            let filtered = try await store.timeSeries(
                TimeSeriesQuery(
                    metric: .rate, stepMs: 30_000, since: Self.start, until: Self.start + 90_000, filter: curl))
            #expect(filtered.series == [.init(key: "NXDomain", values: [0, 0, 1 / 30])])
        }
    }

    @Test(arguments: Backend.allCases) func topAndHistogram(_ backend: Backend) async throws {
        try await backend.withStore { store in
            try await store.insert(Self.records)
            func top(_ by: TopQuery.Key, _ order: TopQuery.Order = .count) async throws -> [TopEntry] {
                try await store.top(
                    TopQuery(by: by, stat: .max, order: order, since: Self.start, until: Self.start + 120_000))
            }
            #expect(
                try await top(.name) == [
                    TopEntry(key: "web.example.test", value: 0.713, count: 4, errors: 1),
                    TopEntry(key: "missing.example.test", value: 20, count: 1, errors: 1),
                ])
            #expect(
                try await top(.rcode) == [
                    TopEntry(key: "NoError", value: 0.713, count: 3),
                    TopEntry(key: "", value: nil, count: 1, errors: 1),
                    TopEntry(key: "NXDomain", value: 20, count: 1, errors: 1),
                ])
            #expect(
                try await top(.client, .errors) == [
                    TopEntry(key: "client", value: 0.713, count: 3, errors: 1),
                    TopEntry(key: "cart", value: 20, count: 1, errors: 1),
                ])
            #expect(try await top(.server).map(\.key) == ["10.96.0.10"])
            #expect(try await top(.comm).map { [$0.key: $0.count] } == [["dig": 3], ["": 1], ["curl": 1]])
            #expect(
                try await store.latencyHistogram(since: Self.start, until: Self.start + 120_000).map(\.count)
                    == [3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
        }
    }
}
