import DNSFlowCore

/// Records the unit tests of several modules share: what the agent sends for the lookups.
public enum SampleRecords {
    /// One `dig` to a Service address that a router namespace DNATs to the server: four stages (client,
    /// router before and after NAT, server; the server's namespace unnamed), each latency below the one
    /// before, a CNAME and two answers, and the process that asked.
    public static func dnatLookup(
        id: UInt16 = 0xBEEF, endMs: Int64 = 1_763_812_800_001, node: String = "worker-3"
    ) -> FlowRecord {
        var r = FlowRecord(
            recordType: .dnsTransaction, srcAddr: "10.0.1.2", dstAddr: "10.96.0.10", srcPort: 53_124, dstPort: 53,
            proto: 17, etype: 0x0800, bytes: 235, packets: 3, timeFlowStartMs: endMs - 1, timeFlowEndMs: endMs,
            interfaces: ["eth0", "veth-r0", "veth-r1", "veth-s"], ifDirections: [1, 0, 1, 0], flags: 0,
            netNs: 4_026_532_100, nodeName: node, dnsId: id, dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError",
            dnsLatencyNs: 713_000, dnsName: "web.example.test", dnsQType: "A", dnsErrno: DNSErrno.none)
        r.xlatDstAddr = "10.0.2.53"
        r.xlatDstPort = 5353
        r.netNsName = "client"
        r.dnsStages = [
            DNSStage(
                netNs: 4_026_532_100, netNsName: "client", interface: "eth0", serverAddr: "10.96.0.10", serverPort: 53,
                latencyNs: 713_000),
            DNSStage(
                netNs: 4_026_532_200, netNsName: "router", interface: "veth-r0", serverAddr: "10.96.0.10",
                serverPort: 53, latencyNs: 698_000),
            DNSStage(
                netNs: 4_026_532_200, netNsName: "router", interface: "veth-r1", serverAddr: "10.0.2.53",
                serverPort: 5353, latencyNs: 483_000),
            DNSStage(
                netNs: 4_026_532_300, interface: "veth-s", serverAddr: "10.0.2.53", serverPort: 5353,
                latencyNs: 469_123),
        ]
        r.dnsRetransmits = 1
        r.dnsAnswers = DNSAnswers(addresses: ["10.9.9.9", "fd00::9"], cnames: ["alias.example.test"], ttl: 300)
        r.requester = Requester(
            pid: 4242, comm: "dig", cgroupId: 12_345, containerId: "0123456789ab",
            podUid: "8f0e5c9a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
        return r
    }

    /// The TCP connection the lookup's answer led to, named by it.
    public static func namedConnection(endMs: Int64 = 1_763_812_800_050, node: String = "worker-3") -> FlowRecord {
        var r = FlowRecord(
            srcAddr: "10.0.1.2", dstAddr: "10.9.9.9", srcPort: 40_000, dstPort: 443, proto: 6, etype: 0x0800,
            bytes: 9_000, packets: 12, timeFlowStartMs: endMs - 40, timeFlowEndMs: endMs, interfaces: ["eth0"],
            ifDirections: [1], flags: 0x1B, netNs: 4_026_532_100, nodeName: node)
        r.dstDnsName = "web.example.test"
        return r
    }
}
