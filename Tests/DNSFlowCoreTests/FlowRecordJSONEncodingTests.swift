import DNSFlowCore
import DNSFlowTestSupport
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

    static let transaction = SampleRecords.dnatLookup()

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
            "RecordType", "SrcAddr", "DstAddr", "SrcPort", "DstPort", "XlatDstAddr", "XlatDstPort", "Proto", "Etype",
            "Bytes", "Packets", "TimeFlowStartMs", "TimeFlowEndMs", "Interfaces", "IfDirections", "Flags", "NetNs",
            "NetNsName", "NodeName", "DnsId", "DnsFlags", "DnsFlagsResponseCode", "DnsLatencyMs", "DnsName",
            "DnsQType", "DnsErrno", "DnsStages", "DnsRetransmits", "DnsAnswers", "DnsCnames", "DnsTtl", "Pid", "Comm",
            "CgroupId", "ContainerId", "PodUid", "DstDnsName",
            "SrcK8S_Name", "SrcK8S_Namespace", "SrcK8S_Type", "SrcK8S_OwnerName", "SrcK8S_OwnerType", "SrcK8S_HostName",
            "DstK8S_Name", "DstK8S_Namespace", "DstK8S_Type", "DstK8S_OwnerName", "DstK8S_OwnerType", "DstK8S_HostName",
            "XlatDstK8S_Name", "XlatDstK8S_Namespace",
            "DnsBaseName", "DnsTries", "DnsWastedQueries", "DnsWastedMs", "DnsSearchFix", "DnsTimeouts", "DnsRetryOf",
            "DnsRetryGapMs", "DnsAlertReason",
            "DnsDropReason",
            "DnsCacheHit", "DnsUpstream", "DnsServes", "DnsServerSource",
        ]
        #expect(FlowField.allCases.map { "\($0.key)" } == keys)
        var every = Self.transaction
        every.dstDnsName = "web.example.test"
        let pod = KubernetesObject(
            kind: .pod, name: "web-1", namespace: "shop", ownerName: "web", ownerType: "Deployment", hostName: "n1")
        (every.srcK8S, every.dstK8S, every.xlatDstK8S) = (pod, pod, pod)
        every.setEveryHealthField()
        every.dnsCacheHit = false
        every.dnsUpstream = [
            DNSLinkedLookup(addr: "10.0.1.53", port: 53, dnsId: 900, latencyNs: 40_500_000, rcode: .noError)
        ]
        every.dnsServes = [DNSLinkedLookup(addr: "10.0.0.2", port: 40_000, dnsId: 7)]
        every.dnsServerSource = .packets
        let text = Self.line(every)
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(!positions.contains(nil))
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test func everyRecordSaysWhatItIs() {
        #expect(Self.line(Self.plain).hasPrefix(#"{"RecordType":"flow","SrcAddr":"10.244.1.7","#))
        #expect(Self.line(Self.transaction).hasPrefix(#"{"RecordType":"dnsTransaction","SrcAddr":"10.0.1.2","#))
    }

    @Test func transactionRoundTripsWithStagesAnswersAndRequester() throws {
        #expect(try Self.decodedLine(Self.transaction) == Self.transaction)
        let text = Self.line(Self.transaction)
        #expect(text.contains(#""DstPort":53,"XlatDstAddr":"10.0.2.53","XlatDstPort":5353,"Proto":17,"#))
        #expect(text.contains(#""NetNs":4026532100,"NetNsName":"client","NodeName":"worker-3","#))
        let stages = [
            #"{"NetNs":4026532100,"NetNsName":"client","Interface":"eth0","ServerAddr":"10.96.0.10","#
                + #""ServerPort":53,"LatencyMs":0.713}"#,
            #"{"NetNs":4026532200,"NetNsName":"router","Interface":"veth-r0","ServerAddr":"10.96.0.10","#
                + #""ServerPort":53,"LatencyMs":0.698}"#,
            #"{"NetNs":4026532200,"NetNsName":"router","Interface":"veth-r1","ServerAddr":"10.0.2.53","#
                + #""ServerPort":5353,"LatencyMs":0.483}"#,
            #"{"NetNs":4026532300,"Interface":"veth-s","ServerAddr":"10.0.2.53","ServerPort":5353,"#
                + #""LatencyMs":0.469123}"#,
        ]
        #expect(
            text.contains(#""DnsErrno":0,"DnsStages":["# + stages.joined(separator: ",") + #"],"DnsRetransmits":1,"#))
        #expect(
            text.contains(
                #""DnsAnswers":["10.9.9.9","fd00::9"],"DnsCnames":["alias.example.test"],"DnsTtl":300,"Pid":4242,"#
                    + #""Comm":"dig","CgroupId":12345,"ContainerId":"0123456789ab","#
                    + #""PodUid":"8f0e5c9a-1d2b-4c3d-9e8f-0a1b2c3d4e5f"}"#))
    }

    /// A timeout's stages without latency, an NXDomain's empty answers (decoded, nothing in them), a
    /// requester outside a container, a flow named by the lookup that resolved its destination.
    @Test func partialTransactionsAndNamedFlowsRoundTrip() throws {
        var timeout = Self.transaction
        timeout.dnsStages = timeout.dnsStages.map { stage in
            var stage = stage
            stage.latencyNs = nil
            stage.netNsName = nil
            return stage
        }
        timeout.dnsLatencyNs = nil
        timeout.dnsErrno = DNSErrno.timedOut
        timeout.dnsAnswers = nil
        timeout.requester = Requester(pid: 1, comm: "getent", cgroupId: 1)
        #expect(try Self.decodedLine(timeout) == timeout)
        #expect(!Self.line(timeout).contains("LatencyMs") && !Self.line(timeout).contains("DnsAnswers"))
        #expect(!Self.line(timeout).contains("ContainerId") && !Self.line(timeout).contains("PodUid"))

        var nxdomain = Self.transaction
        nxdomain.dnsAnswers = DNSAnswers.none
        #expect(try Self.decodedLine(nxdomain) == nxdomain)
        #expect(Self.line(nxdomain).contains(#""DnsAnswers":[],"DnsCnames":[],"Pid""#))

        var named = Self.plain
        named.dstDnsName = "web.example.test"
        #expect(try Self.decodedLine(named) == named)
        #expect(Self.line(named).hasSuffix(#","NodeName":"worker-3","DstDnsName":"web.example.test"}"# + "\n"))
        #expect(!Self.line(Self.plain).contains("Stages") && !Self.line(Self.plain).contains("Pid"))
    }

    /// The writer's bound holds for the longest text every field can take: each string byte escaped,
    /// the longest addresses and numbers, latencies with six decimals, many stages and answers.
    @Test func maxLengthBoundsTheWorstCase() {
        let control = String(repeating: "\u{1}", count: 40)
        let longest: IPAddress = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
        var r = FlowRecord.empty
        r.recordType = .dnsTransaction
        (r.srcAddr, r.dstAddr, r.xlatDstAddr) = (longest, longest, longest)
        (r.srcPort, r.dstPort, r.xlatDstPort, r.proto, r.etype, r.flags) = (.max, .max, .max, .max, .max, .max)
        (r.bytes, r.packets, r.timeFlowStartMs, r.timeFlowEndMs, r.netNs) = (.max, .max, .min, .min, .max)
        r.interfaces = Array(repeating: control, count: 5)
        r.ifDirections = Array(repeating: 255, count: 5)
        (r.netNsName, r.nodeName, r.dnsName, r.dstDnsName) = (control, control, control, control)
        (r.dnsId, r.dnsFlags, r.dnsErrno, r.dnsRetransmits) = (.max, .max, .max, .max)
        r.dnsFlagsResponseCode = DNSResponseCode(rawValue: 255)
        r.dnsQType = DNSQueryType(rawValue: .max)
        r.dnsLatencyNs = .max - 1
        r.dnsStages = Array(
            repeating: DNSStage(
                netNs: .max, netNsName: control, interface: control, serverAddr: longest, serverPort: .max,
                latencyNs: .max - 1),
            count: 6)
        r.dnsAnswers = DNSAnswers(
            addresses: Array(repeating: longest, count: 9), cnames: Array(repeating: control, count: 3), ttl: .max)
        r.requester = Requester(
            pid: .max, comm: control, cgroupId: .max, containerId: control, podUid: control)
        for records in [[r], [r, Self.plain, Self.transaction], [FlowRecord]()] {
            records.withUnsafeBufferPointer { records in
                let bound = FlowRecordJSON.maxLength(of: records)
                // Room past the bound, so that a bound too small shows as a failure, not as a crash.
                let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: bound + 65_536, alignment: 1)
                defer { destination.deallocate() }
                let written = FlowRecordJSON.write(records, to: destination)
                #expect(written <= bound, "\(written) bytes written, \(bound) bound")
            }
        }
    }

    @Test(
        arguments: [(469_123, "0.469123"), (713_000, "0.713"), (40_000_000, "40.0"), (1, "0.000001")]
            as [(UInt64, String)])
    func stageLatencyIsWrittenInMillisecondsToTheMicrosecond(latency: UInt64, text: String) throws {
        var record = Self.transaction
        record.dnsStages[3].latencyNs = latency
        #expect(Self.line(record).contains("\"ServerPort\":5353,\"LatencyMs\":\(text)}]"))
        #expect(try Self.decodedLine(record) == record)
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
        func address() -> IPAddress {
            Bool.random(using: &generator)
                ? .v4(.random(in: .min ... .max, using: &generator))
                : .v6(
                    high: .random(in: .min ... .max, using: &generator),
                    low: .random(in: .min ... .max, using: &generator))
        }
        var record = FlowRecord(
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
        guard Bool.random(using: &generator) else { return record }
        record.recordType = .dnsTransaction
        record.xlatDstAddr = maybe(address())
        record.xlatDstPort = maybe(.random(in: .min ... .max, using: &generator))
        record.netNsName = maybe(text())
        record.dnsStages = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
            DNSStage(
                netNs: .random(in: .min ... .max, using: &generator), netNsName: maybe(text()), interface: text(),
                serverAddr: address(), serverPort: .random(in: .min ... .max, using: &generator),
                latencyNs: maybe(.random(in: .min ... .max, using: &generator)))
        }
        record.dnsRetransmits = maybe(.random(in: .min ... .max, using: &generator))
        record.dnsAnswers = maybe(
            DNSAnswers(
                addresses: (0..<Int.random(in: 0...4, using: &generator)).map { _ in address() },
                cnames: (0..<Int.random(in: 0...2, using: &generator)).map { _ in text() },
                ttl: maybe(.random(in: .min ... .max, using: &generator))))
        record.requester = maybe(
            Requester(
                pid: .random(in: .min ... .max, using: &generator), comm: text(),
                cgroupId: .random(in: .min ... .max, using: &generator), containerId: maybe(text()),
                podUid: maybe(text())))
        record.dstDnsName = maybe(text())
        record.dnsCacheHit = maybe(.random(using: &generator))
        func linked() -> DNSLinkedLookup {
            DNSLinkedLookup(
                addr: address(), port: .random(in: .min ... .max, using: &generator),
                dnsId: .random(in: .min ... .max, using: &generator),
                latencyNs: maybe(.random(in: 0...UInt64(Int64.max), using: &generator)),
                rcode: maybe(DNSResponseCode(rawValue: .random(in: 0...15, using: &generator))))
        }
        record.dnsUpstream = (0..<Int.random(in: 0...3, using: &generator)).map { _ in linked() }
        record.dnsServes = (0..<Int.random(in: 0...2, using: &generator)).map { _ in linked() }
        record.dnsServerSource = maybe(DNSServerSource.allCases.randomElement(using: &generator)!)
        return record
    }

    /// Records/s, printed; a debug build says little about release speed (`make microbench` measures that).
    @Test func throughputIsPrinted() throws {
        let records = (0..<100_000).map { i in i % 2 == 0 ? Self.transaction : Self.plain }
        let clock = ContinuousClock()
        var buffer: [UInt8] = []
        let ours = clock.measure { FlowRecordJSON.encode(records, into: &buffer) }
        let seconds = Double(ours.components.seconds) + Double(ours.components.attoseconds) / 1e18
        print("FlowRecordJSON: \(Int(Double(records.count) / seconds)) records/s (100k records)")
        #expect(buffer.count > 0)
    }
}
