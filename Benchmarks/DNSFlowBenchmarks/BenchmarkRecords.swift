// The records the JSON and IPFIX encode benchmarks use.
import DNSFlowCore

/// Half DNS, half IPv6 (all four IPFIX templates), names like a cluster's, two interfaces each,
/// latencies that need up to microsecond digits.
func benchmarkRecords(count: Int = 10_000) -> [FlowRecord] {
    (0..<count).map { i in
        let dns = i % 2 == 0
        let v6 = i % 4 >= 2
        return FlowRecord(
            srcAddr: v6
                ? .v6(high: 0xfd00_0010_0244_0001, low: UInt64(i % 200 + 1))
                : IPAddress(ipv4: 10, 244, UInt8(i % 200), UInt8(i % 250 + 1)),
            dstAddr: v6 ? "fd00:10:96::a" : "10.96.0.10", srcPort: UInt16(30000 + i % 30000), dstPort: dns ? 53 : 443,
            proto: 17, etype: v6 ? 0x86DD : 0x0800, bytes: UInt64(100 + i), packets: 2,
            timeFlowStartMs: 1_763_812_800_000 + Int64(i), timeFlowEndMs: 1_763_812_800_002 + Int64(i),
            interfaces: ["eth0", "genev_sys_6081"], ifDirections: [1, 0], flags: 0x18, netNs: 4_026_532_100,
            nodeName: "worker-3.cluster.example",
            dnsId: dns ? UInt16(truncatingIfNeeded: i) : nil, dnsFlags: dns ? 0x8180 : nil,
            dnsFlagsResponseCode: dns ? "NoError" : nil, dnsLatencyNs: dns ? UInt64(i % 50_000) * 1_000 : nil,
            dnsName: dns ? "service-\(i % 100).namespace.svc.cluster.local" : nil, dnsQType: dns ? "A" : nil,
            dnsErrno: dns ? 0 : nil)
    }
}
