import DNSFlowCollector
import DNSFlowCore
import DNSFlowStore
import Foundation
import Logging

/// A fresh temporary directory, removed when the test ends.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("dnsflow-collector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

func makeDependencies(
    in dir: TemporaryDirectory, token: String? = nil, queueSize: Int = 64
) throws
    -> CollectorDependencies
{
    let store = try FlowStore(path: dir.path("flows.sqlite"))
    return CollectorDependencies(
        store: store, writer: FlowWriter(store: store, queueSize: queueSize, logger: Logger(label: "test")),
        metrics: CollectorMetrics(), token: token
    )
}

/// Runs the dependencies' writer around `body`, as the collector's service group does, so ingest gets answered.
func withWriter<T: Sendable>(_ deps: CollectorDependencies, _ body: () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup { tasks in
        tasks.addTask { try await deps.writer.run() }
        defer { tasks.cancelAll() }
        return try await body()
    }
}

func dnsRecord(
    id: UInt16, name: String = "www.example.test", rcode: DNSResponseCode = "NoError", latency: Double? = 1.5,
    endMs: Int64 = FlowStore.nowMs(), src: IPAddress = "10.0.0.2", dst: IPAddress = "10.0.0.53"
) -> FlowRecord {
    FlowRecord(
        srcAddr: src, dstAddr: dst, srcPort: 40000, dstPort: 53, proto: 17, etype: 0x0800, bytes: 120, packets: 2,
        timeFlowStartMs: endMs - 2, timeFlowEndMs: endMs, interfaces: ["eth0"], ifDirections: [1], flags: 0,
        netNs: 4_026_531_840, nodeName: "node-a", dnsId: id, dnsFlags: 0x8180, dnsFlagsResponseCode: rcode,
        dnsLatencyNs: latency.map { UInt64(($0 * 1e6).rounded()) }, dnsName: name, dnsQType: "A", dnsErrno: 0
    )
}

func jsonData(_ records: [FlowRecord]) throws -> Data {
    var bytes: [UInt8] = []
    FlowRecordJSON.encode(records, into: &bytes)
    return Data(bytes)
}

/// gzip(1) output, so the test does not trust our own decompression path to check itself.
func gzip(_ data: Data) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-c"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(data)
    try input.fileHandleForWriting.close()
    let compressed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return compressed
}
