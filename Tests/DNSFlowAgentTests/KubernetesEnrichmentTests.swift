import DNSFlowAgent
import DNSFlowCore
import Prometheus
import Testing

/// Names of a fixed cluster, by pod UID and by address.
private struct FakeKubernetesNames: KubernetesNaming {
    var pods: [String: KubernetesObject]
    var addresses: [IPAddress: KubernetesObject]

    func pod(uid: String) -> KubernetesObject? { pods[uid] }
    func object(address: IPAddress) -> KubernetesObject? { addresses[address] }
}

struct KubernetesEnrichmentTests {
    typealias S = EnrichmentSamples
    static let podUID = "6b0d4c2e-8f1a-4b3c-9d5e-7f2a1c0b9e8d"
    static let web = KubernetesObject(
        kind: .pod, name: "web-7c9f8d6b5-x2x8q", namespace: "shop", ownerName: "web", ownerType: "Deployment",
        hostName: "node-1")
    static let kubeDNS = KubernetesObject(kind: .service, name: "kube-dns", namespace: "kube-system")
    static let coredns = KubernetesObject(
        kind: .pod, name: "coredns-5d78c9869d-kq4zr", namespace: "kube-system", ownerName: "coredns",
        ownerType: "Deployment", hostName: "node-1")
    static let server = IPAddress(ipv4: 10, 244, 1, 3)

    private func enricher(registry: PrometheusCollectorRegistry) -> RecordEnricher {
        let names = FakeKubernetesNames(
            pods: [Self.podUID: Self.web], addresses: [S.resolver: Self.kubeDNS, Self.server: Self.coredns])
        return RecordEnricher(
            netNsNames: FakeNetNsNames(names: [:]),
            cgroupPaths: FakeCgroupPaths(paths: [
                200:
                    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod\(Self.podUID.replacingOccurrences(of: "-", with: "_")).slice/cri-containerd-3f2a9c4e8b1d7f60a5e2c9b8d4f1a7e3c6b9d2f5a8e1c4b7d0f3a6e9c2b5d8f1.scope",
                201: "/kubepods/besteffort/pod0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a",
            ]),
            resolvedNames: 16, kubernetes: names, registry: registry)
    }

    private func lookup(cgroupId: UInt64) -> FlowRecord {
        var record = S.transaction()
        record.xlatDstAddr = Self.server
        record.xlatDstPort = 53
        record.requester = Requester(pid: 7, comm: "curl", cgroupId: cgroupId)
        record.dnsFlagsResponseCode = .noError
        record.dnsLatencyNs = 1_200_000
        return record
    }

    @Test("a lookup names its client pod from the cgroup, the Service it asked and the pod behind it")
    func lookupNames() throws {
        let registry = PrometheusCollectorRegistry()
        var records = [lookup(cgroupId: 200)]
        enricher(registry: registry).enrich(&records)
        #expect(records[0].srcK8S == Self.web)
        #expect(records[0].dstK8S == Self.kubeDNS)
        #expect(records[0].xlatDstK8S?.name == "coredns-5d78c9869d-kq4zr")
        #expect(records[0].xlatDstK8S?.namespace == "kube-system")
        var buffer: [UInt8] = []
        FlowRecordJSON.encode(records, into: &buffer)
        let json = String(decoding: buffer, as: UTF8.self)
        for field in [
            #""SrcK8S_Name":"web-7c9f8d6b5-x2x8q""#, #""SrcK8S_Namespace":"shop""#, #""SrcK8S_Type":"Pod""#,
            #""SrcK8S_OwnerName":"web""#, #""SrcK8S_OwnerType":"Deployment""#, #""SrcK8S_HostName":"node-1""#,
            #""DstK8S_Name":"kube-dns""#, #""DstK8S_Type":"Service""#, #""XlatDstK8S_Name":"coredns-5d78c9869d-kq4zr""#,
            #""XlatDstK8S_Namespace":"kube-system""#,
        ] {
            #expect(json.contains(field), "\(field) in \(json)")
        }
        let decoded = try #require(try FlowRecordJSON.decodeArray(Array(json.utf8)).first)
        #expect(decoded.srcK8S == Self.web && decoded.dstK8S == Self.kubeDNS, "the K8S fields read back")
        #expect(
            decoded.xlatDstK8S?.name == "coredns-5d78c9869d-kq4zr" && decoded.xlatDstK8S?.namespace == "kube-system")
    }

    @Test("a pod UID the cache does not know leaves the names empty and is counted")
    func unknownPod() {
        let registry = PrometheusCollectorRegistry()
        var records = [lookup(cgroupId: 201)]
        records[0].srcAddr = IPAddress(ipv4: 10, 244, 1, 99)
        enricher(registry: registry).enrich(&records)
        #expect(records[0].srcK8S == nil)
        #expect(records[0].dstK8S == Self.kubeDNS)
        #expect(metricsText(registry).contains("dnsflow_kubernetes_unknown_pods_total 1"))
    }

    @Test("flows are named at both ends by address")
    func flowsByAddress() {
        var records = [S.flow(client: Self.server, destination: S.resolver)]
        enricher(registry: PrometheusCollectorRegistry()).enrich(&records)
        #expect(records[0].srcK8S == Self.coredns)
        #expect(records[0].dstK8S == Self.kubeDNS)
        #expect(records[0].xlatDstK8S == nil)
    }

    @Test("lookups are counted by namespace and rcode, latency by namespace; unknown pods as ~none")
    func namespaceMetrics() {
        let registry = PrometheusCollectorRegistry()
        var records = [lookup(cgroupId: 200), lookup(cgroupId: 200), lookup(cgroupId: 201)]
        enricher(registry: registry).enrich(&records)
        let text = metricsText(registry)
        #expect(text.contains(#"dnsflow_dns_lookups_total{namespace="shop",rcode="NoError"} 2"#), "\(text)")
        #expect(text.contains(#"dnsflow_dns_lookups_total{namespace="~none",rcode="NoError"} 1"#))
        #expect(text.contains(#"dnsflow_dns_lookup_latency_seconds_count{namespace="shop"} 2"#))
        #expect(!text.contains("web-7c9f8d6b5"), "never a pod name in a label")
    }

    private func metricsText(_ registry: PrometheusCollectorRegistry) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
