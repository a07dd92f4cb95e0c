import DNSFlowCore
import Foundation
import Testing

struct FlowRecordJSONEncodingTests {
    static let plain = FlowRecord(
        srcAddr: "10.244.1.7", dstAddr: "10.96.0.10", srcPort: 41_000, dstPort: 443, proto: 6, etype: 0x0800,
        bytes: 1_500, packets: 3, timeFlowStartMs: 1_763_812_800_000, timeFlowEndMs: 1_763_812_800_040,
        interfaces: ["eth0", "genev_sys_6081"], ifDirections: [1, 0], flags: 0x18, netNs: 4_026_532_100,
        nodeName: "worker-3")

    static let dns = FlowRecord(
        srcAddr: "10.244.1.7", dstAddr: "10.96.0.10", srcPort: 53_124, dstPort: 53, proto: 17, etype: 0x0800,
        bytes: 180, packets: 2, timeFlowStartMs: 1_763_812_800_000, timeFlowEndMs: 1_763_812_800_001,
        interfaces: ["eth0"], ifDirections: [1], flags: 0, netNs: 4_026_532_100, nodeName: "worker-3",
        dnsId: 0xBEEF, dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError", dnsLatencyNs: 213_000,
        dnsName: "kubernetes.default.svc.cluster.local", dnsQType: "A", dnsErrno: DNSErrno.none)

    static func line(_ record: FlowRecord) -> String {
        var buffer: [UInt8] = []
        FlowRecordJSON.encodeLine(record, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    static func decodedLine(_ record: FlowRecord) throws -> FlowRecord {
        var buffer: [UInt8] = []
        FlowRecordJSON.encodeLine(record, into: &buffer)
        #expect(buffer.last == UInt8(ascii: "\n"))
        #expect(buffer.dropLast().contains(UInt8(ascii: "\n")) == false)
        // Standard JSON: Foundation reads it too.
        #expect(try JSONSerialization.jsonObject(with: Data(buffer)) is [String: Any])
        return try #require(FlowRecordJSON.decodeArray(Array("[".utf8) + buffer + Array("]".utf8)).first)
    }

    static func decodedArray(_ records: [FlowRecord]) throws -> [FlowRecord] {
        var buffer: [UInt8] = []
        FlowRecordJSON.encode(records, into: &buffer)
        #expect((try JSONSerialization.jsonObject(with: Data(buffer)) as? [Any])?.count == records.count)
        return try FlowRecordJSON.decodeArray(buffer)
    }

    @Test func plainFlowRoundTripsWithoutDNSKeys() throws {
        #expect(try Self.decodedLine(Self.plain) == Self.plain)
        #expect(!Self.line(Self.plain).contains("\"Dns"))
    }

    @Test func dnsRecordRoundTrips() throws {
        #expect(try Self.decodedLine(Self.dns) == Self.dns)
    }

    @Test func keysFollowFieldOrder() {
        let keys = [
            "SrcAddr", "DstAddr", "SrcPort", "DstPort", "Proto", "Etype", "Bytes", "Packets", "TimeFlowStartMs",
            "TimeFlowEndMs", "Interfaces", "IfDirections", "Flags", "NetNs", "NodeName", "DnsId", "DnsFlags",
            "DnsFlagsResponseCode", "DnsLatencyMs", "DnsName", "DnsQType", "DnsErrno",
        ]
        #expect(FlowField.allCases.map { "\($0.key)" } == keys)
        let text = Self.line(Self.dns)
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(!positions.contains(nil))
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test func timeoutRecordHasNoLatency() throws {
        var timeout = Self.dns
        timeout.dnsLatencyNs = nil
        timeout.dnsFlags = 0x0100
        timeout.dnsFlagsResponseCode = nil
        timeout.dnsErrno = DNSErrno.timedOut
        #expect(try Self.decodedLine(timeout) == timeout)
        #expect(!Self.line(timeout).contains("DnsLatencyMs"))
        #expect(!Self.line(timeout).contains("null"))
    }

    @Test func ipv6AddressesRoundTrip() throws {
        var record = Self.dns
        record.srcAddr = "fd00:10:244:1::7"
        record.dstAddr = "::ffff:10.96.0.10"
        record.etype = 0x86DD
        record.dnsQType = "AAAA"
        #expect(try Self.decodedLine(record) == record)
    }

    @Test func stringsAreEscaped() throws {
        var record = Self.dns
        record.dnsName = "a\"b\\c\u{0}d\u{1F}e\tf\ng\u{7F}/é.例え.🦊"
        record.nodeName = "\"\\"
        record.interfaces = ["", "\r", "eth0\u{8}"]
        record.dnsQType = "TYPE65534"
        #expect(try Self.decodedLine(record) == record)
        // Control characters as \u00XX, UTF-8 and DEL copied as is.
        #expect(Self.line(record).contains(#""DnsName":"a\"b\\c\u0000d\u001fe\u0009f\u000ag"#))
        #expect(Self.line(record).contains("\u{7F}/é.例え.🦊\""))
        #expect(Self.line(record).contains(#""Interfaces":["","\u000d","eth0\u0008"]"#))
    }

    @Test func extremeIntegersRoundTrip() throws {
        var record = Self.dns
        record.bytes = .max
        record.packets = 0
        record.timeFlowStartMs = .min
        record.timeFlowEndMs = .max
        record.srcPort = .max
        record.dstPort = 0
        record.proto = .max
        record.etype = .max
        record.flags = .max
        record.netNs = .max
        record.ifDirections = [0, 1, 255]
        record.dnsId = .max
        record.dnsFlags = 0
        record.dnsErrno = .max
        #expect(try Self.decodedLine(record) == record)
        let text = Self.line(record)
        #expect(text.contains("\"Bytes\":18446744073709551615,\"Packets\":0,"))
        #expect(text.contains("\"TimeFlowStartMs\":-9223372036854775808,\"TimeFlowEndMs\":9223372036854775807,"))
    }

    /// Milliseconds with up to six decimals; the assembler's whole microseconds as `Double.description`
    /// writes them.
    @Test(
        arguments: [
            (213_000, "0.213"), (40_125_000, "40.125"), (1_234_567_000, "1234.567"), (1_000, "0.001"), (0, "0.0"),
            (40_000_000, "40.0"), (10, "0.00001"), (86_400_000_999_000, "86400000.999"), (210_000, "0.21"),
            (5_000, "0.005"), (50_000, "0.05"), (1_100_000, "1.1"), (1_500, "0.0015"), (1_234_567, "1.234567"),
            (UInt64.max, "18446744073709.551615"),
        ] as [(UInt64, String)])
    func latencyIsWrittenInMilliseconds(latency: UInt64, text: String) throws {
        var record = Self.dns
        record.dnsLatencyNs = latency
        #expect(Self.line(record).contains("\"DnsLatencyMs\":\(text),"))
        #expect(try Self.decodedLine(record) == record)
    }

    /// Whole microseconds, the assembler's latencies, are written with integers: the same text as
    /// `description`, checked over every value below 100 ms and a spread of larger ones.
    @Test func microsecondLatenciesMatchTheirDescription() {
        var record = Self.dns
        let micros = Array(0..<100_000) + (0..<10_000).map { $0 * 99_999_989 }
        for value in micros {
            record.dnsLatencyNs = UInt64(value) * 1_000
            let text = Self.line(record)
            guard text.contains("\"DnsLatencyMs\":\((Double(value) / 1_000).description),") else {
                Issue.record("\(value) µs: \(text)")
                return
            }
        }
    }

    @Test func arraysOfZeroOneAndManyRecords() throws {
        var empty: [UInt8] = []
        FlowRecordJSON.encode([FlowRecord](), into: &empty)
        #expect(empty == Array("[]".utf8))
        #expect(try Self.decodedArray([Self.dns]) == [Self.dns])
        let many = (0..<500).map { i in i % 3 == 0 ? Self.plain : Self.dns }
        #expect(try Self.decodedArray(many) == many)
        // A non-contiguous collection takes the copying path.
        let lazy = (0..<3).lazy.map { _ in Self.plain }
        var buffer: [UInt8] = []
        FlowRecordJSON.encode(lazy, into: &buffer)
        #expect(try FlowRecordJSON.decodeArray(buffer) == Array(lazy))
    }

    @Test func encodingAppendsToTheBuffer() {
        var buffer = Array("x".utf8)
        FlowRecordJSON.encode([Self.plain], into: &buffer)
        FlowRecordJSON.encodeLine(Self.dns, into: &buffer)
        var array: [UInt8] = []
        FlowRecordJSON.encode([Self.plain], into: &array)
        #expect(buffer == Array("x".utf8) + array + Array(Self.line(Self.dns).utf8))
    }

    @Test func randomRecordsRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let records = (0..<1_000).map { _ in Self.randomRecord(using: &generator) }
        #expect(try Self.decodedArray(records) == records)
    }

    static func randomRecord(using generator: inout some RandomNumberGenerator) -> FlowRecord {
        func text() -> String {
            let alphabet: [Character] = [
                "a", "Z", "9", ".", "-", "\"", "\\", "\u{0}", "\n", "\u{1F}", "é", "例", "🦊", "/",
            ]
            return String(
                (0..<Int.random(in: 0...24, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator)!
                })
        }
        func maybe<T>(_ value: T) -> T? { Bool.random(using: &generator) ? value : nil }
        let interfaceCount = Int.random(in: 0...3, using: &generator)
        return FlowRecord(
            srcAddr: .v4(.random(in: .min ... .max, using: &generator)),
            dstAddr: .v6(
                high: .random(in: .min ... .max, using: &generator), low: .random(in: 0...3, using: &generator)),
            srcPort: .random(in: .min ... .max, using: &generator),
            dstPort: .random(in: .min ... .max, using: &generator),
            proto: .random(in: .min ... .max, using: &generator),
            etype: .random(in: .min ... .max, using: &generator), bytes: .random(in: .min ... .max, using: &generator),
            packets: .random(in: .min ... .max, using: &generator),
            timeFlowStartMs: .random(in: .min ... .max, using: &generator),
            timeFlowEndMs: .random(in: .min ... .max, using: &generator),
            interfaces: (0..<interfaceCount).map { _ in text() },
            ifDirections: (0..<interfaceCount).map { _ in .random(in: 0...1, using: &generator) },
            flags: .random(in: .min ... .max, using: &generator), netNs: .random(in: .min ... .max, using: &generator),
            nodeName: text(), dnsId: maybe(.random(in: .min ... .max, using: &generator)),
            dnsFlags: maybe(.random(in: .min ... .max, using: &generator)),
            dnsFlagsResponseCode: maybe(DNSResponseCode(rawValue: .random(in: .min ... .max, using: &generator))),
            dnsLatencyNs: maybe(.random(in: .min ... .max, using: &generator)),
            dnsName: maybe(text()),
            dnsQType: maybe(DNSQueryType(rawValue: .random(in: .min ... .max, using: &generator))),
            dnsErrno: maybe(.random(in: .min ... .max, using: &generator)))
    }

    /// Records/s, printed; a debug build says little about release speed (`make microbench` measures that).
    @Test func throughputIsPrinted() throws {
        let records = (0..<100_000).map { i in i % 2 == 0 ? Self.dns : Self.plain }
        let clock = ContinuousClock()
        var buffer: [UInt8] = []
        let ours = clock.measure { FlowRecordJSON.encode(records, into: &buffer) }
        let seconds = Double(ours.components.seconds) + Double(ours.components.attoseconds) / 1e18
        print("FlowRecordJSON: \(Int(Double(records.count) / seconds)) records/s (100k records)")
        #expect(buffer.count > 0)
    }
}
