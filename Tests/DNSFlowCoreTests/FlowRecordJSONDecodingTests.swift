import DNSFlowCore
import Foundation
import Testing

@Suite struct FlowRecordJSONDecodingTests {
    private static let full = FlowRecord(
        srcAddr: "fd00::2", dstAddr: "fd00::53", srcPort: 65535, dstPort: 53, proto: 6, etype: 0x86DD,
        bytes: UInt64.max, packets: 1 << 40, timeFlowStartMs: -1, timeFlowEndMs: Int64.max,
        interfaces: ["eth0", "we\"ird\\if/\u{1}\t", "ü😀"], ifDirections: [0, 1, 255], flags: 0x12, netNs: UInt32.max,
        nodeName: "node-ü", dnsId: 65535, dnsFlags: 0x8183, dnsFlagsResponseCode: "NXDomain",
        dnsLatencyNs: 213_000, dnsName: "a.example.test", dnsQType: "AAAA", dnsErrno: 110
    )
    private static let plain = FlowRecord(
        srcAddr: "10.1.1.1", dstAddr: "10.1.1.2", srcPort: 1, dstPort: 2, proto: 17, etype: 0x0800, bytes: 0,
        packets: 0, timeFlowStartMs: 1, timeFlowEndMs: 2, interfaces: [], ifDirections: [], flags: 0, netNs: 0,
        nodeName: ""
    )

    /// A flow's required keys, for bodies that test the others.
    private static let requiredKeys =
        #""SrcAddr":"10.0.0.2","DstAddr":"10.0.0.3","SrcPort":1,"DstPort":53,"Proto":17,"Etype":2048,"#
        + #""Bytes":1,"Packets":1,"TimeFlowStartMs":1,"TimeFlowEndMs":2,"Interfaces":[],"IfDirections":[],"#
        + #""Flags":0,"NetNs":1,"NodeName":"n""#

    private func decode(_ text: String) throws(FlowJSONError) -> [FlowRecord] {
        try FlowRecordJSON.decodeArray(Array(text.utf8))
    }

    @Test func decodesWhatTheWriterWrites() throws {
        var transaction = Self.full
        transaction.recordType = .dnsTransaction
        transaction.dnsStages = [
            DNSStage(netNs: 1, interface: "ü", serverAddr: "fd00::53", serverPort: 53, latencyNs: 213_000)
        ]
        transaction.requester = Requester(pid: 7, comm: "getent", cgroupId: 9)
        let records = [Self.full, Self.plain, transaction, Self.full]
        var data: [UInt8] = []
        FlowRecordJSON.encode(records, into: &data)
        #expect(try FlowRecordJSON.decodeArray(data) == records)
        #expect(try decode("[]") == [])
        #expect(try decode(" \n[ ]\t") == [])
    }

    @Test func acceptsAnyOrderWhitespaceEscapesNullsAndUnknownKeys() throws {
        let text = """
             [ {"NodeName":"n\\u00fc\\ud83d\\ude00", "DnsName" : null, "Extra": {"a": [1, -2.5e3, true, false, null, "x"]},
              "IfDirections":[ 1 , 0 ],"Interfaces":["e\\"th\\\\0", "\\/\\b\\f\\n\\r\\t"],"Flags":18,"NetNs":7,
              "TimeFlowEndMs":-5,"TimeFlowStartMs":0,"Packets":3,"Bytes":140,"Etype":2048,"Proto":17,
              "DstPort":53,"SrcPort":4242,"DstAddr":"10.0.0.53","SrcAddr":"10.0.0.2","DnsLatencyMs":1E-3,
              "DnsId":7,"Dns\\u0049d":8,"DnsErrno":null}
            ]
            """
        let record = try #require(try decode(text).first)
        #expect(record.nodeName == "nü😀")
        #expect(record.interfaces == ["e\"th\\0", "/\u{8}\u{c}\n\r\t"])
        #expect(record.ifDirections == [1, 0])
        #expect(record.timeFlowEndMs == -5)
        #expect(record.dnsLatencyMs == 0.001)
        #expect(record.dnsId == 8, "an escaped key names the same field; the last value wins")
        #expect(record.dnsName == nil && record.dnsErrno == nil && record.dnsQType == nil)
        #expect(record.srcAddr == "10.0.0.2" && record.srcPort == 4242 && record.bytes == 140 && record.netNs == 7)
        #expect(record.recordType == .flow, "a record without RecordType is a flow")
        #expect(record.dnsStages.isEmpty && record.dnsAnswers == nil && record.requester == nil)
    }

    /// Stages with unknown keys and nulls, the answers' and the requester's keys in any order and in part.
    @Test func readsTransactionsLeniently() throws {
        let text =
            "[{" + Self.requiredKeys
                + """
                ,"PodUid":"p","DnsTtl":30,"RecordType":"dnsTransaction",
                  "DnsStages":[{"Interface":"eth0","Other":[1],"NetNsName":null,"ServerPort":53,
                                "ServerAddr":"10.96.0.10","NetNs":9,"LatencyMs":null}],
                  "DnsCnames":["a.example"],"Comm":"dig","XlatDstAddr":null,"DnsRetransmits":null}]
                """
        let record = try #require(try decode(text).first)
        #expect(record.recordType == .dnsTransaction)
        #expect(
            record.dnsStages == [
                DNSStage(netNs: 9, interface: "eth0", serverAddr: "10.96.0.10", serverPort: 53, latencyNs: nil)
            ])
        #expect(record.dnsAnswers == DNSAnswers(addresses: [], cnames: ["a.example"], ttl: 30))
        #expect(record.requester == Requester(pid: 0, comm: "dig", cgroupId: 0, podUid: "p"))
        #expect(record.xlatDstAddr == nil && record.dnsRetransmits == nil)
        let nulls = try #require(
            try decode("[{" + Self.requiredKeys + #","DnsStages":null,"DnsAnswers":null,"Pid":null}]"#).first)
        #expect(nulls.dnsStages.isEmpty && nulls.dnsAnswers == nil && nulls.requester == nil)
    }

    @Test func stagesAndAddressesAloneRoundTrip() throws {
        let stages = [
            DNSStage(netNs: 1, netNsName: "a", interface: "eth0", serverAddr: "fd00::53", serverPort: 53, latencyNs: 1),
            DNSStage(netNs: 2, interface: "", serverAddr: "10.0.0.53", serverPort: 0, latencyNs: nil),
        ]
        var text: [UInt8] = []
        FlowRecordJSON.encode(stages: stages, into: &text)
        #expect(try text.withUnsafeBytes { try FlowRecordJSON.decodeStages($0) } == stages)
        let addresses: [IPAddress] = ["10.0.0.1", "fd00::1"]
        text = Array("x".utf8)
        FlowRecordJSON.encode(addresses: addresses, into: &text)
        #expect(String(decoding: text, as: UTF8.self) == #"x["10.0.0.1","fd00::1"]"#)
        #expect(try text.dropFirst().withUnsafeBytes { try FlowRecordJSON.decodeAddresses($0) } == addresses)
    }

    static let malformed: [(body: String, reason: String)] = [
        ("", "unexpected end"),
        ("{}", "expected '['"),
        ("[", "unexpected end"),
        ("[{}", "lacks \"SrcAddr\""),
        ("[] []", "after the array"),
        ("[1]", "expected '{'"),
        (#"[{"SrcAddr":"10.0.0.1",}]"#, "expected a key"),
        (#"[{"SrcAddr" "10.0.0.1"}]"#, "expected ':'"),
        (#"[{"SrcAddr":"10.0.0.1"}]"#, "lacks \"DstAddr\""),
        (#"[{"SrcAddr":"a"}]"#, "expected an IPv4 or IPv6 address"),
        (#"[{"SrcAddr":"10.0.0.256"}]"#, "expected an IPv4 or IPv6 address"),
        (#"[{"DnsFlagsResponseCode":"Weird"}]"#, "expected a response code name"),
        (#"[{"DnsQType":"B"}]"#, "expected a query type"),
        (#"[{"DnsLatencyMs":-1}]"#, "latency out of range"),
        (#"[{"SrcPort":65536}]"#, "out of range for UInt16"),
        (#"[{"SrcPort":-1}]"#, "out of range for UInt16"),
        (#"[{"SrcPort":1.5}]"#, "expected an integer"),
        (#"[{"SrcPort":"1"}]"#, "expected a number"),
        (#"[{"SrcPort":01}]"#, "expected a number"),
        (#"[{"SrcPort":null}]"#, "expected a number"),
        (#"[{"NodeName":null}]"#, "expected a string"),
        (#"[{"DnsLatencyMs":1.}]"#, "digits after '.'"),
        (#"[{"DnsLatencyMs":1e999}]"#, "out of range"),
        (#"[{"DnsLatencyMs":nul}]"#, "expected null"),
        (#"[{"NodeName":"a\q"}]"#, "invalid escape"),
        (#"[{"NodeName":"\ud800x"}]"#, "lone surrogate"),
        (#"[{"NodeName":"\u12"}]"#, "hex digits"),
        ("[{\"NodeName\":\"a\nb\"}]", "control character"),
        (#"[{"NodeName":"abc"#, "unterminated string"),
        (#"[{"Other":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]"#, "too deep"),
        (#"[{"RecordType":"dns"}]"#, "expected a record type: flow, dnsTransaction, dnsResolution or dnsAlert"),
        (#"[{"DnsStages":{}}]"#, "expected '['"),
        (#"[{"DnsStages":[1]}]"#, "expected '{'"),
        (#"[{"DnsStages":[{"NetNs":"x"}]}]"#, "DnsStages[0].NetNs: expected a number"),
        (
            #"[{"DnsStages":[{"NetNs":1,"Interface":"e","ServerAddr":"a","ServerPort":53}]}]"#,
            "DnsStages[0].ServerAddr: expected an IPv4 or IPv6 address"
        ),
        (#"[{"DnsStages":[{"NetNs":1,"Interface":7}]}]"#, "DnsStages[0].Interface: expected a string"),
        (#"[{"DnsStages":[{"ServerPort":65536}]}]"#, "DnsStages[0].ServerPort: number out of range for UInt16"),
        (#"[{"DnsStages":[{"LatencyMs":-1}]}]"#, "DnsStages[0].LatencyMs: latency out of range"),
        (
            #"[{"DnsStages":[{"NetNs":1,"Interface":"e","ServerAddr":"10.0.0.1","ServerPort":53},{"NetNs":2,"#
                + #""Interface":"e","ServerPort":53}]}]"#, #"DnsStages[1] lacks "ServerAddr""#
        ),
        (#"[{"DnsAnswers":["10.0.0.1","x"]}]"#, "expected an IPv4 or IPv6 address"),
        (#"[{"DnsCnames":"a"}]"#, "expected '['"),
        (#"[{"DnsTtl":-1}]"#, "out of range for UInt32"),
        (#"[{"Pid":4294967296}]"#, "out of range for UInt32"),
        (#"[{"Comm":1}]"#, "expected a string"),
    ]

    @Test func decodesThePageTheAPIWrites() throws {
        var body: [UInt8] = []
        FlowRecordJSON.encodePage([Self.full, Self.plain], total: 7, into: &body)
        #expect(
            String(decoding: body, as: UTF8.self).hasPrefix(#"{"flows":[{"RecordType":"flow","SrcAddr":"fd00::2","#))
        let page = try FlowRecordJSON.decodePage(body)
        #expect(page.records == [Self.full, Self.plain] && page.total == 7)
        #expect(try FlowRecordJSON.decodePage(Array(#"{"total":3,"other":[1],"flows":[]}"#.utf8)) == ([], 3))
    }

    @Test(arguments: malformed) func rejectsMalformedBodies(_ body: String, _ reason: String) {
        let error = #expect(throws: FlowJSONError.self) { try decode(body) }
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func rejectsInvalidUTF8AndPointsAtTheOffendingByte() {
        var body = Array(#"[{"NodeName":"a"#.utf8)
        body += [0xFF] + Array(#""}]"#.utf8)
        let error = #expect(throws: FlowJSONError.self) { try FlowRecordJSON.decodeArray(body) }
        #expect(error?.offset == 13, "the opening quote of the string")
        #expect(error?.reason == "string is not valid UTF-8")
    }
}
