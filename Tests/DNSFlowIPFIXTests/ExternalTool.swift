import Foundation
import Testing

/// Runs the real third-party decoders. A missing tool fails the test with the install line; it never skips.
enum ExternalTool {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func temporaryFile(_ name: String, _ contents: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dnsflow-\(UUID().uuidString)-\(name)")
        try Data(contents).write(to: url)
        return url
    }

    /// Runs `tool` found on PATH and returns its standard output.
    static func run(_ tool: String, _ arguments: [String], install: String) throws -> Data {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else {
            throw Failure(description: "\(tool) is not installed; CI must run: \(install)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read before waiting so a large output cannot fill the pipe and stall the tool.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
                    + "\(errorText)\nIf a module is missing, CI must run: \(install)")
        }
        return data
    }
}

/// A classic pcap file (LINKTYPE_RAW) of IPv4 packets from 127.0.0.1 to 127.0.0.1, so tshark sees
/// IPFIX exactly as a collector would receive it, without capturing live traffic.
struct PcapWriter {
    enum Transport { case udp, tcp }

    private(set) var bytes: [UInt8] = []
    private var tcpSequence: UInt32 = 1
    private var packets: UInt32 = 0

    init() {
        append32le(0xA1B2_C3D4)
        append16le(2)
        append16le(4)
        append32le(0)  // thiszone
        append32le(0)  // sigfigs
        append32le(65535)  // snaplen
        append32le(101)  // LINKTYPE_RAW
    }

    mutating func add(_ payload: [UInt8], transport: Transport, port: UInt16) {
        let transportHeader: [UInt8]
        switch transport {
        case .udp:
            transportHeader = be16(50000) + be16(port) + be16(UInt16(8 + payload.count)) + be16(0)
        case .tcp:
            // One segment per message, sequence numbers contiguous; PSH|ACK, no checksum (tshark does not check).
            transportHeader =
                be16(50000) + be16(port) + be32(tcpSequence) + be32(1) + [0x50, 0x18] + be16(65535) + be16(0)
                + be16(0)
            tcpSequence &+= UInt32(payload.count)
        }
        var ip: [UInt8] =
            [0x45, 0] + be16(UInt16(20 + transportHeader.count + payload.count)) + be16(UInt16(packets & 0xFFFF))
        ip += [0x40, 0, 64, transport == .udp ? 17 : 6, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]
        let checksum = ~stride(from: 0, to: 20, by: 2).reduce(UInt32(0)) { sum, i in
            let folded = sum + (UInt32(ip[i]) << 8 | UInt32(ip[i + 1]))
            return (folded & 0xFFFF) + (folded >> 16)
        }
        ip[10] = UInt8(truncatingIfNeeded: checksum >> 8)
        ip[11] = UInt8(truncatingIfNeeded: checksum)
        let packet = ip + transportHeader + payload
        packets += 1
        append32le(1_763_812_800 + packets)
        append32le(0)
        append32le(UInt32(packet.count))
        append32le(UInt32(packet.count))
        bytes += packet
    }

    private func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    private func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(v & 0xFFFF)) }
    private mutating func append16le(_ v: UInt16) { bytes += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private mutating func append32le(_ v: UInt32) { bytes += be32(v).reversed() }
}
