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
        dnsId: 0xBEEF, dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError", dnsLatencyMs: 0.213,
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
        return try JSONDecoder().decode(FlowRecord.self, from: Data(buffer))
    }

    static func decodedArray(_ records: [FlowRecord]) throws -> [FlowRecord] {
        var buffer: [UInt8] = []
        FlowRecordJSON.encode(records, into: &buffer)
        return try JSONDecoder().decode([FlowRecord].self, from: Data(buffer))
    }

    @Test func plainFlowRoundTripsWithoutDNSKeys() throws {
        #expect(try Self.decodedLine(Self.plain) == Self.plain)
        #expect(!Self.line(Self.plain).contains("\"Dns"))
    }

    @Test func dnsRecordRoundTrips() throws {
        #expect(try Self.decodedLine(Self.dns) == Self.dns)
    }

    @Test func keysFollowCodingKeysOrder() {
        let keys: [FlowRecord.CodingKeys] = [
            .srcAddr, .dstAddr, .srcPort, .dstPort, .proto, .etype, .bytes, .packets, .timeFlowStartMs,
            .timeFlowEndMs, .interfaces, .ifDirections, .flags, .netNs, .nodeName, .dnsId, .dnsFlags,
            .dnsFlagsResponseCode, .dnsLatencyMs, .dnsName, .dnsQType, .dnsErrno,
        ]
        let text = Self.line(Self.dns)
        let positions = keys.map { text.range(of: "\"\($0.stringValue)\":")?.lowerBound }
        #expect(!positions.contains(nil))
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test func timeoutRecordHasNoLatency() throws {
        var timeout = Self.dns
        timeout.dnsLatencyMs = nil
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

    @Test(arguments: [
        (0.213, "0.213"), (40.125, "40.125"), (1234.567, "1234.567"), (0.001, "0.001"), (0, "0.0"), (40, "40.0"),
        (0.00001, "1e-05"), (1e16, "1e+16"), (86_400_000.999, "86400000.999"), (-0.0, "-0.0"), (0.21, "0.21"),
        (0.005, "0.005"), (0.05, "0.05"), (1.1, "1.1"), (0.0015, "0.0015"), (-1.5, "-1.5"),
    ])
    func latencyIsTheShortestRoundTripText(latency: Double, text: String) throws {
        var record = Self.dns
        record.dnsLatencyMs = latency
        #expect(Self.line(record).contains("\"DnsLatencyMs\":\(text),"))
        #expect(try Self.decodedLine(record) == record)
    }

    /// Whole microseconds, the assembler's latencies, are written with integers: the same text as
    /// `description`, checked over every value below 100 ms and a spread of larger ones.
    @Test func microsecondLatenciesMatchTheirDescription() {
        var record = Self.dns
        let micros = Array(0..<100_000) + (0..<10_000).map { $0 * 99_999_989 }
        for value in micros {
            record.dnsLatencyMs = Double(value) / 1_000
            let text = Self.line(record)
            guard text.contains("\"DnsLatencyMs\":\(record.dnsLatencyMs!.description),") else {
                Issue.record("\(value) µs: \(text)")
                return
            }
        }
    }

    @Test(arguments: [Double.infinity, -.infinity, .nan])
    func nonFiniteLatencyIsLeftOut(latency: Double) throws {
        var record = Self.dns
        record.dnsLatencyMs = latency
        var expected = record
        expected.dnsLatencyMs = nil
        #expect(try Self.decodedLine(record) == expected)
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
        #expect(try JSONDecoder().decode([FlowRecord].self, from: Data(buffer)) == Array(lazy))
    }

    @Test func encodingAppendsToTheBuffer() {
        var buffer = Array("x".utf8)
        FlowRecordJSON.encode([Self.plain], into: &buffer)
        FlowRecordJSON.encodeLine(Self.dns, into: &buffer)
        var array: [UInt8] = []
        FlowRecordJSON.encode([Self.plain], into: &array)
        #expect(buffer == Array("x".utf8) + array + Array(Self.line(Self.dns).utf8))
    }

    @Test func randomRecordsDecodeLikeJSONEncoderOutput() throws {
        var generator = SystemRandomNumberGenerator()
        let records = (0..<1_000).map { _ in Self.randomRecord(using: &generator) }
        let ours = try Self.decodedArray(records)
        let foundation = try JSONDecoder().decode([FlowRecord].self, from: JSONEncoder().encode(records))
        #expect(ours == foundation)
        #expect(ours == records)
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
            srcAddr: text(), dstAddr: text(), srcPort: .random(in: .min ... .max, using: &generator),
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
            dnsFlags: maybe(.random(in: .min ... .max, using: &generator)), dnsFlagsResponseCode: maybe(text()),
            // Microsecond precision, as the probe measures it.
            dnsLatencyMs: maybe(Double(Int.random(in: 0...100_000_000, using: &generator)) / 1_000),
            dnsName: maybe(text()), dnsQType: maybe(text()),
            dnsErrno: maybe(.random(in: .min ... .max, using: &generator)))
    }

    /// Records/s of both encoders, printed for comparison; a debug build says little about release speed
    /// (`make microbench` measures that).
    @Test func throughputIsPrinted() throws {
        let records = (0..<100_000).map { i in i % 2 == 0 ? Self.dns : Self.plain }
        let clock = ContinuousClock()
        var buffer: [UInt8] = []
        let ours = clock.measure { FlowRecordJSON.encode(records, into: &buffer) }
        var data = Data()
        let foundation = try clock.measure { data = try JSONEncoder().encode(records) }
        func rate(_ elapsed: Duration) -> Int {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Int(Double(records.count) / seconds)
        }
        print("FlowRecordJSON: \(rate(ours)) records/s, JSONEncoder: \(rate(foundation)) records/s (100k records)")
        #expect(buffer.count > 0 && data.count > 0)
    }
}
