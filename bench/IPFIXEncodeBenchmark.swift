// Encode throughput of IPFIXEncoder on one core. Built and run by run-ipfix-encode-benchmark.sh
// (an optimized build outside SwiftPM, since the package declares no benchmark target).
import DNSFlowCore
import DNSFlowIPFIX

#if canImport(Glibc)
    import Glibc
#endif

let records: [FlowRecord] = (0..<10_000).map { i in
    let dns = i % 2 == 0
    let v6 = i % 4 >= 2
    return FlowRecord(
        srcAddr: v6 ? "fd00:10:244:1::\(i % 200 + 1)" : "10.244.\(i % 200).\(i % 250 + 1)",
        dstAddr: v6 ? "fd00:10:96::a" : "10.96.0.10", srcPort: UInt16(30000 + i % 30000), dstPort: dns ? 53 : 443,
        proto: 17, etype: v6 ? 0x86DD : 0x0800, bytes: UInt64(100 + i), packets: 2,
        timeFlowStartMs: 1_763_812_800_000 + Int64(i), timeFlowEndMs: 1_763_812_800_002 + Int64(i),
        interfaces: ["eth0", "genev_sys_6081"], ifDirections: [1, 0], flags: 0x18, netNs: 4_026_532_100,
        nodeName: "worker-3.cluster.example",
        dnsId: dns ? UInt16(truncatingIfNeeded: i) : nil, dnsFlags: dns ? 0x8180 : nil,
        dnsFlagsResponseCode: dns ? "NoError" : nil, dnsLatencyMs: dns ? 0.734 : nil,
        dnsName: dns ? "service-\(i % 100).namespace.svc.cluster.local" : nil, dnsQType: dns ? "A" : nil,
        dnsErrno: dns ? 0 : nil)
}

var encoder = IPFIXEncoder()
var octets = 0
var messages = 0
let rounds = 300
let clock = ContinuousClock()
let elapsed = clock.measure {
    for _ in 0..<rounds {
        // The exporter's path: each message is handed over in place, as it copies into a ByteBuffer.
        _ = encoder.encode(records, exportTime: 1_763_812_800) { message in
            messages += 1
            octets += message.count
        }
    }
}
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let total = records.count * rounds
print("records: \(total), messages: \(messages), octets: \(octets), seconds: \(seconds)")
print("records/s: \(Int(Double(total) / seconds)), octets/record: \(octets / total)")
