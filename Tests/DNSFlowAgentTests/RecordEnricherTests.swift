import DNSFlowAgent
import DNSFlowCore
import Prometheus
import Testing

struct RecordEnricherTests {
    typealias S = EnrichmentSamples
    static let containerId = "3f2a9c4e8b1d7f60a5e2c9b8d4f1a7e3c6b9d2f5a8e1c4b7d0f3a6e9c2b5d8f1"
    static let (clientNs, routerNs, serverNs): (UInt32, UInt32, UInt32) = (4_026_532_301, 4_026_532_302, 4_026_532_303)

    private func enricher(capacity: Int = 16, registry: PrometheusCollectorRegistry = .init()) -> RecordEnricher {
        RecordEnricher(
            netNsNames: FakeNetNsNames(names: [Self.clientNs: "client", Self.routerNs: "router"]),
            cgroupPaths: FakeCgroupPaths(paths: [
                100: "/machine.slice/libpod-\(Self.containerId).scope/container",
                200:
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b0d4c2e_8f1a_4b3c_9d5e_7f2a1c0b9e8d.slice/cri-containerd-\(Self.containerId).scope",
                300: "/user.slice/user-0.slice/session-1.scope",
            ]),
            resolvedNames: capacity, registry: registry)
    }

    private func transaction(cgroupId: UInt64? = 100) -> FlowRecord {
        var record = S.transaction()
        record.dnsStages = [Self.clientNs, Self.routerNs, Self.routerNs, Self.serverNs].map { netNs in
            DNSStage(netNs: netNs, interface: "veth0", serverAddr: S.resolver, serverPort: 53, latencyNs: 500_000)
        }
        record.requester = cgroupId.map { Requester(pid: 4242, comm: "dig", cgroupId: $0) }
        return record
    }

    @Test func transactionsGetNamesForTheirNamespacesAndTheRequestersContainer() {
        var records = [
            transaction(), transaction(cgroupId: 200), transaction(cgroupId: 300), transaction(cgroupId: nil),
        ]
        enricher().enrich(&records)
        #expect(records[0].netNsName == "client")
        #expect(records[0].dnsStages.map(\.netNsName) == ["client", "router", "router", nil])
        #expect(records[0].requester == Requester(pid: 4242, comm: "dig", cgroupId: 100, containerId: Self.containerId))
        #expect(records[1].requester?.containerId == Self.containerId)
        #expect(records[1].requester?.podUid == "6b0d4c2e-8f1a-4b3c-9d5e-7f2a1c0b9e8d")
        #expect(
            records[2].requester == Requester(pid: 4242, comm: "dig", cgroupId: 300), "a login session: no container")
        #expect(records[3].requester == nil)
    }

    /// The lookup and the connection it was for, in one window: the flow may come first in it.
    @Test func aFlowGetsTheNameItsClientResolvedInTheSameWindow() {
        var records = [S.flow(), transaction(), S.flow(netNs: Self.serverNs)]
        enricher().enrich(&records)
        #expect(records[0].dstDnsName == "web.example.test")
        #expect(records[0].netNsName == "client")
        #expect(records[2].dstDnsName == "web.example.test")
        #expect(records[2].netNsName == nil)
        #expect(records[1].dstDnsName == nil, "a transaction is no flow to name")
    }

    @Test func laterWindowsStillNameFlowsUntilTheTTLRunsOut() {
        let enricher = enricher()
        var lookup = [transaction()]
        enricher.enrich(&lookup)
        var later = [S.flow(startMs: S.t0 + 29_000), S.flow(startMs: S.t0 + 31_000)]
        enricher.enrich(&later)
        #expect(later.map(\.dstDnsName) == ["web.example.test", nil])
    }

    @Test func otherFlowsAreLeftAlone() {
        var dnsFlow = S.flow(destination: S.web)
        dnsFlow.dnsId = 7
        var records = [
            transaction(), S.flow(client: IPAddress(ipv4: 10, 0, 0, 3)),
            S.flow(destination: IPAddress(ipv4: 10, 9, 9, 8)),
            dnsFlow,
        ]
        enricher().enrich(&records)
        #expect(records[1...].map(\.dstDnsName) == [nil, nil, nil])
    }

    @Test func namesPushedOutWithinTheirTTLAreCounted() {
        let registry = PrometheusCollectorRegistry()
        let enricher = enricher(capacity: 2, registry: registry)
        var records = (1...5).map {
            S.transaction(name: "n\($0).test", answers: [IPAddress(ipv4: 10, 9, 9, UInt8($0))])
        }
        enricher.enrich(&records)
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(
            text.contains("# HELP dnsflow_dns_resolved_names_evicted_total Resolved names dropped within their TTL"))
        #expect(text.contains("dnsflow_dns_resolved_names_evicted_total 3\n"))
    }
}
