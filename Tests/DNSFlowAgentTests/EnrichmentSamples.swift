import DNSFlowAgent
import DNSFlowCore

/// Records as the assembler makes them, for the enrichment's tests.
enum EnrichmentSamples {
    static let client = IPAddress(ipv4: 10, 0, 0, 2)
    static let resolver = IPAddress(ipv4: 10, 96, 0, 10)
    static let web = IPAddress(ipv4: 10, 9, 9, 9)
    /// 2025-11-22T12:00:00Z.
    static let t0: Int64 = 1_763_812_800_000

    /// A lookup by `client`, answered at `answeredMs`.
    static func transaction(
        client: IPAddress = client, name: String = "web.example.test", answers: [IPAddress] = [web],
        cnames: [String] = [], ttl: UInt32? = 30, answeredMs: Int64 = t0
    ) -> FlowRecord {
        var record = FlowRecord(
            recordType: .dnsTransaction, srcAddr: client, dstAddr: resolver, srcPort: 40_000, dstPort: 53, proto: 17,
            etype: 0x0800, bytes: 150, packets: 2, timeFlowStartMs: answeredMs - 1, timeFlowEndMs: answeredMs,
            interfaces: ["veth0"], ifDirections: [1], flags: 0, netNs: 4_026_532_301, nodeName: "node", dnsId: 7,
            dnsName: name)
        record.dnsAnswers = DNSAnswers(addresses: answers, cnames: cnames, ttl: ttl)
        return record
    }

    /// A TCP flow from `client` that started at `startMs`.
    static func flow(
        client: IPAddress = client, destination: IPAddress = web, startMs: Int64 = t0 + 5, netNs: UInt32 = 4_026_532_301
    ) -> FlowRecord {
        FlowRecord(
            srcAddr: client, dstAddr: destination, srcPort: 50_000, dstPort: 443, proto: 6, etype: 0x0800,
            bytes: 6_000, packets: 10, timeFlowStartMs: startMs, timeFlowEndMs: startMs + 20, interfaces: ["veth0"],
            ifDirections: [1], flags: 0x12, netNs: netNs, nodeName: "node")
    }
}

/// Namespace names from a table.
struct FakeNetNsNames: NetNsNaming {
    var names: [UInt32: String]
    func name(netNs: UInt32) -> String? { names[netNs] }
}

/// Cgroup paths from a table.
struct FakeCgroupPaths: CgroupPathResolving {
    var paths: [UInt64: String]
    func path(cgroupId: UInt64) -> String? { paths[cgroupId] }
}
