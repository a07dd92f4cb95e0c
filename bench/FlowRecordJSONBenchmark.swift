// Encode throughput of FlowRecordJSON against Foundation's JSONEncoder on one core. Built and run by
// run-json-encode-benchmark.sh (an optimized build outside SwiftPM, since the package declares no
// benchmark target).
import DNSFlowCore
import Foundation

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
        dnsFlagsResponseCode: dns ? "NoError" : nil, dnsLatencyMs: dns ? Double(i % 50_000) / 1000 : nil,
        dnsName: dns ? "service-\(i % 100).namespace.svc.cluster.local" : nil, dnsQType: dns ? "A" : nil,
        dnsErrno: dns ? 0 : nil)
}

// The HTTP exporter's batch size.
let batches = stride(from: 0, to: records.count, by: 5_000).map { Array(records[$0..<$0 + 5_000]) }

/// Encodes every batch `rounds` times; returns records/s and bytes/record.
func measure(rounds: Int, _ encode: ([FlowRecord]) -> Int) -> (rate: Int, bytesPerRecord: Int) {
    var bytes = 0
    let elapsed = ContinuousClock().measure {
        for _ in 0..<rounds {
            for batch in batches { bytes += encode(batch) }
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let total = records.count * rounds
    return (Int(Double(total) / seconds), bytes / total)
}

let fast = measure(rounds: 100) { batch in
    var body: [UInt8] = []
    FlowRecordJSON.encode(batch, into: &body)
    return body.count
}
let encoder = JSONEncoder()
let foundation = measure(rounds: 5) { batch in (try? encoder.encode(batch))?.count ?? 0 }
print("FlowRecordJSON: \(fast.rate) records/s, \(fast.bytesPerRecord) bytes/record")
print("JSONEncoder:    \(foundation.rate) records/s, \(foundation.bytesPerRecord) bytes/record")
