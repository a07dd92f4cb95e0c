// The records the JSON and IPFIX encode benchmarks use.
import DNSFlowCore

/// Half DNS transactions, half flows, half IPv6 (all four IPFIX templates), names like a
/// cluster's, latencies that need up to microsecond digits. Each transaction has the shape of a
/// lookup through a router that DNATs a Service address: four stages (client, router before and
/// after NAT, server), two answers, a CNAME, and the process that asked.
func benchmarkRecords(count: Int = 10_000) -> [FlowRecord] {
    (0..<count).map { i in
        let dns = i % 2 == 0
        let v6 = i % 4 >= 2
        let server: IPAddress = v6 ? "fd00:10:96::a" : "10.96.0.10"
        var record = FlowRecord(
            recordType: dns ? .dnsTransaction : .flow,
            srcAddr: v6
                ? .v6(high: 0xfd00_0010_0244_0001, low: UInt64(i % 200 + 1))
                : IPAddress(ipv4: 10, 244, UInt8(i % 200), UInt8(i % 250 + 1)),
            dstAddr: server, srcPort: UInt16(30000 + i % 30000), dstPort: dns ? 53 : 443,
            proto: 17, etype: v6 ? 0x86DD : 0x0800, bytes: UInt64(100 + i), packets: 2,
            timeFlowStartMs: 1_763_812_800_000 + Int64(i), timeFlowEndMs: 1_763_812_800_002 + Int64(i),
            interfaces: ["eth0", "genev_sys_6081"], ifDirections: [1, 0], flags: 0x18, netNs: 4_026_532_100,
            nodeName: "worker-3.cluster.example",
            dnsId: dns ? UInt16(truncatingIfNeeded: i) : nil, dnsFlags: dns ? 0x8180 : nil,
            dnsFlagsResponseCode: dns ? "NoError" : nil, dnsLatencyNs: dns ? UInt64(i % 50_000) * 1_000 : nil,
            dnsName: dns ? "service-\(i % 100).namespace.svc.cluster.local" : nil, dnsQType: dns ? "A" : nil,
            dnsErrno: dns ? 0 : nil)
        guard dns else { return record }
        let latency = UInt64(i % 50_000) * 1_000
        let backend: IPAddress = v6 ? .v6(high: 0xfd00_0010_0244_0002, low: 53) : "10.244.2.53"
        record.xlatDstAddr = backend
        record.xlatDstPort = 53
        record.netNsName = "client-\(i % 50)"
        record.dnsStages = [
            DNSStage(
                netNs: 4_026_532_100, netNsName: record.netNsName, interface: "eth0", serverAddr: server,
                serverPort: 53, latencyNs: latency),
            DNSStage(
                netNs: 4_026_531_840, interface: "veth1a2b3c4d", serverAddr: server, serverPort: 53,
                latencyNs: latency * 98 / 100),
            DNSStage(
                netNs: 4_026_531_840, interface: "genev_sys_6081", serverAddr: backend, serverPort: 53,
                latencyNs: latency * 68 / 100),
            DNSStage(
                netNs: 4_026_532_300, netNsName: "coredns", interface: "eth0", serverAddr: backend, serverPort: 53,
                latencyNs: latency * 66 / 100),
        ]
        record.dnsAnswers = DNSAnswers(
            addresses: [IPAddress(ipv4: 10, 96, UInt8(i % 100), 1), IPAddress(ipv4: 10, 96, UInt8(i % 100), 2)],
            cnames: ["backend-\(i % 100).namespace.svc.cluster.local"], ttl: 30)
        record.requester = Requester(
            pid: UInt32(1000 + i % 500), comm: "curl", cgroupId: 12_345 + UInt64(i % 50),
            containerId: "3f2a9c0e1b7d4a8f9e6c5b4a3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e",
            podUid: "8f0e5c9a-1d2b-4c3d-9e8f-0a1b2c3d4e5f")
        return record
    }
}
