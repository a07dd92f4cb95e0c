import DNSFlowCore
import DNSFlowStore
import Foundation

/// A store in a fresh temporary directory, removed when the test ends.
struct TemporaryStore {
    let directory: URL
    let store: FlowStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnsflow-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try FlowStore(path: directory.appendingPathComponent("flows.sqlite").path)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

func dnsRecord(
    id: UInt16, name: String = "www.example.test", rcode: DNSResponseCode = "NoError", latency: Double? = 1.5,
    endMs: Int64 = 1_700_000_000_000, src: IPAddress = "10.0.0.2", srcPort: UInt16 = 40000,
    dst: IPAddress = "10.0.0.53",
    dstPort: UInt16 = 53, node: String = "node-a", errno: UInt8 = 0
) -> FlowRecord {
    FlowRecord(
        srcAddr: src, dstAddr: dst, srcPort: srcPort, dstPort: dstPort, proto: 17, etype: 0x0800, bytes: 120,
        packets: 2, timeFlowStartMs: endMs - 2, timeFlowEndMs: endMs, interfaces: ["eth0", "veth\"x"],
        ifDirections: [1, 0], flags: 0, netNs: 4_026_531_840, nodeName: node, dnsId: id, dnsFlags: 0x8180,
        dnsFlagsResponseCode: rcode, dnsLatencyNs: latency.map { UInt64(($0 * 1e6).rounded()) }, dnsName: name,
        dnsQType: "A", dnsErrno: errno
    )
}

/// The query direction's record, as the agent writes it: the id and name, no outcome.
func queryRecord(id: UInt16, name: String) -> FlowRecord {
    var record = dnsRecord(id: id, name: name, latency: nil)
    record.dnsFlagsResponseCode = nil
    record.dnsFlags = nil
    record.dnsErrno = nil
    return record
}
