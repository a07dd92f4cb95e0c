import DNSFlowCore
import Foundation

/// The real `dnsflow agent` binary, exporting JSON lines to stdout, for one test.
final class AgentProcess: @unchecked Sendable {
    /// A port for the agent's /metrics: below the kernel's ephemeral range (32768 on), which the
    /// tests' own client sockets draw from, so a bind never meets a connection's port.
    static func metricsPort() -> Int { Int.random(in: 30_000...32_767) }

    let process: BackgroundProcess
    let configPath: String

    /// The binary SwiftPM built next to this test bundle.
    static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle, bundle.deletingLastPathComponent()] {
            let path = candidate.appending(path: "dnsflow").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "dnsflow"
    }

    static func config(
        activeTimeout: String = "1s", dnsTimeout: String = "2s", maxPending: Int = 16_384, extra: String = "",
        exporters: String = "    - type: Stdout", pendingTable: String = "auto", features: String = "DNSTracking"
    ) -> String {
        """
        apiVersion: dnsflow.io/v1alpha1
        kind: FlowCollector
        spec:
          agent:
            ebpf:
              cacheActiveTimeout: \(activeTimeout)
              features: [\(features)]
              dnsTracking: {ports: [53, 5353], timeout: \(dnsTimeout), maxPending: \(maxPending), pendingTable: \(pendingTable)}
        \(extra.contains("metrics:") ? extra : extra + "\n    metrics: {port: \(Self.metricsPort())}")
          exporters:
        \(exporters)
        """
    }

    /// - Parameter token: put in the agent's environment as DNSFLOW_TOKEN.
    init(config: String = AgentProcess.config(), arguments: String = "", token: String? = nil) async throws {
        configPath = "/tmp/dnsflow-test-\(getpid())-\(UUID().uuidString.prefix(8)).yaml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let environment = token.map { "env DNSFLOW_TOKEN=\($0) " } ?? ""
        process = try BackgroundProcess(
            "\(environment)\(Self.binary) agent --config \(configPath) --node-name test-node \(arguments)")
        let attached = await process.waitForStderr { $0.contains("BPF program attached") }
        guard attached else {
            let status = await process.stop(signal: SIGKILL)
            throw ShellError(command: "dnsflow agent", status: status, stderr: process.stderr)
        }
    }

    /// Stops the agent with SIGTERM (it flushes) and returns every record it exported.
    func stop() async throws -> [FlowRecord] {
        let status = await process.stop()
        try? FileManager.default.removeItem(atPath: configPath)
        guard status == 0 else {
            throw ShellError(command: "dnsflow agent (stopped with SIGTERM)", status: status, stderr: process.stderr)
        }
        return try process.stdout.split(separator: "\n").flatMap {
            try FlowRecordJSON.decodeArray(Array("[\($0)]".utf8))
        }
    }
}

/// tshark capturing in a namespace, then reading back DNS ids and dns.time.
final class Capture: @unchecked Sendable {
    let file: String
    private let process: BackgroundProcess

    init(lab: Lab, namespace: String, interface: String) async throws {
        file = "/tmp/\(lab.id)-\(interface).pcap"
        process = try lab.start(namespace, "dumpcap -q -i \(interface) -f 'port 53 or port 5353' -w \(file)")
        guard await process.waitForStderr(timeout: .seconds(20), { $0.contains("File:") || $0.contains("Capturing") })
        else {
            throw ShellError(command: "dumpcap", status: -1, stderr: process.stderr)
        }
    }

    struct Response: Hashable {
        let id: UInt16
        let rcode: UInt8
        /// tshark's dns.time: from the query to this response, in seconds.
        let time: Double?
    }

    /// Every DNS response in the capture.
    func responses() async throws -> [Response] {
        await process.stop(signal: SIGTERM)
        let text = try sh(
            "tshark -r \(file) -Y 'dns.flags.response == 1' -T fields -e dns.id -e dns.flags.rcode -e dns.time -E separator=,"
        )
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2, let id = UInt16(fields[0].dropFirst(2), radix: 16), let rcode = UInt8(fields[1])
            else {
                return nil
            }
            return Response(id: id, rcode: rcode, time: fields.count > 2 ? Double(fields[2]) : nil)
        }
    }

    /// Ids of every DNS query in the capture.
    func queryIDs() throws -> [UInt16] {
        try sh("tshark -r \(file) -Y 'dns.flags.response == 0' -T fields -e dns.id").split(separator: "\n")
            .compactMap { UInt16($0.dropFirst(2), radix: 16) }
    }
}

/// The id dig printed in its header line: ";; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 4242".
func digHeader(_ output: String) -> (id: UInt16, status: String)? {
    guard let line = output.split(separator: "\n").first(where: { $0.contains("->>HEADER<<-") }) else { return nil }
    let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard let status = parts.first(where: { $0.hasPrefix("status:") })?.dropFirst(8),
        let id = parts.first(where: { $0.hasPrefix("id:") }).flatMap({ UInt16($0.dropFirst(4)) })
    else { return nil }
    return (id, String(status))
}
