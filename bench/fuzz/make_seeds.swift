// Writes IPFIX seed messages produced by the real encoder (templates, then IPv4 and IPv6 records
// with and without DNS fields). Compiled with Sources/DNSFlowIPFIX by `run.sh seeds`.
import DNSFlowCore
import Foundation

@main
struct MakeSeeds {
    static func main() throws {
        let dir = CommandLine.arguments[1]
        var encoder = IPFIXEncoder(observationDomainId: 7)
        var messages = encoder.templateMessages(exportTime: 1_700_000_000)
        var dns = FlowRecord(
            srcAddr: "10.0.0.53", dstAddr: "10.0.0.2", srcPort: 53, dstPort: 40000, proto: 17, etype: 2048,
            bytes: 120, packets: 1, timeFlowStartMs: 1_700_000_000_000, timeFlowEndMs: 1_700_000_000_001,
            interfaces: ["eth0"], ifDirections: [0], flags: 0, netNs: 4026531840, nodeName: "node")
        dns.dnsId = 4242
        dns.dnsFlags = 0x8180
        dns.dnsFlagsResponseCode = "NoError"
        dns.dnsLatencyMs = 0.213
        dns.dnsName = "a.example.test"
        dns.dnsQType = "A"
        dns.dnsErrno = 0
        var plain6 = FlowRecord(
            srcAddr: "fd00::1", dstAddr: "fd00::2", srcPort: 443, dstPort: 50000, proto: 6, etype: 34525,
            bytes: 1500, packets: 3, timeFlowStartMs: 1_700_000_000_000, timeFlowEndMs: 1_700_000_000_100,
            interfaces: ["eth0", "veth1"], ifDirections: [1, 0], flags: 0x12, netNs: 1, nodeName: "node")
        plain6.dnsId = nil
        messages += encoder.encode([dns, plain6], exportTime: 1_700_000_001).messages
        for (i, message) in messages.enumerated() {
            try Data(message).write(to: URL(fileURLWithPath: "\(dir)/message-\(i)"))
        }
        // A stream: every message back to back, as over TCP.
        try Data(messages.joined()).write(to: URL(fileURLWithPath: "\(dir)/stream"))
    }
}
