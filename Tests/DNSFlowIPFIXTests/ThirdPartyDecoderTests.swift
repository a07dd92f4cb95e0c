import DNSFlowCore
import Foundation
import Testing

@testable import DNSFlowIPFIX

/// Our messages read by decoders we did not write: tshark's cflow dissector and python-ipfix.
@Suite struct ThirdPartyDecoderTests {
    private static let tsharkInstall = "apt-get install -y tshark"
    private static let pythonInstall = "apt-get install -y python3 python3-pip && pip install ipfix==0.9.7"

    private func encodedMessages(
        _ records: [FlowRecord] = Fixtures.all, maxMessageSize: Int = IPFIX.defaultMaxMessageSize
    ) -> [[UInt8]] {
        var encoder = IPFIXEncoder(observationDomainId: 42, maxMessageSize: maxMessageSize)
        return encoder.templateMessages(exportTime: 1_763_812_900)
            + encoder.encode(records, exportTime: 1_763_812_900).messages
    }

    // MARK: tshark

    /// The "Flow N" objects of every packet, in wire order.
    private func tsharkFlows(_ json: Any) -> [[String: Any]] {
        func number(_ key: String) -> Int {
            Int(key.split(separator: " ").dropFirst().first?.prefix { $0.isNumber } ?? "") ?? 0
        }
        guard let object = json as? [String: Any] else {
            return (json as? [Any])?.flatMap(tsharkFlows) ?? []
        }
        let keys = object.keys.sorted { (number($0), $0) < (number($1), $1) }
        return keys.flatMap { key -> [[String: Any]] in
            if key.hasPrefix("Flow "), let flow = object[key] as? [String: Any] { return [flow] }
            if key.hasPrefix("Set ") || key == "cflow" || key == "_source" || key == "layers" {
                return tsharkFlows(object[key] as Any)
            }
            return []
        }
    }

    /// All template field descriptions ("Field (14/26): 226 [pen: CERT Coordination Center]").
    private func tsharkTemplateFields(_ json: Any) -> [String: [String: Any]] {
        if let array = json as? [Any] {
            return array.reduce(into: [:]) { $0.merge(tsharkTemplateFields($1)) { a, _ in a } }
        }
        guard let object = json as? [String: Any] else { return [:] }
        return object.reduce(into: [:]) { fields, entry in
            if entry.key.hasPrefix("Field ("), let field = entry.value as? [String: Any] { fields[entry.key] = field }
            fields.merge(tsharkTemplateFields(entry.value)) { a, _ in a }
        }
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).leftPadded(2) }.joined(separator: ":")
    }

    private func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// Enterprise values in template order; tshark 4.0 names none of them, so it shows their octets.
    private func expectedEnterpriseOctets(_ r: FlowRecord) -> [String] {
        var fields = [
            r.ifDirections, bigEndian(r.netNs), Array(r.nodeName.utf8), [r.recordType.rawValue],
            Array((r.netNsName ?? "").utf8),
        ]
        if let id = r.dnsId {
            fields += [
                bigEndian(id), bigEndian(id), bigEndian(r.dnsFlags ?? 0),
                [r.dnsFlagsResponseCode?.rawValue ?? 255], bigEndian(r.dnsLatencyNs ?? .max),
                bigEndian(r.dnsQType?.rawValue ?? 0), [r.dnsErrno ?? 255],
                Array((r.dnsName ?? "").utf8),
            ]
        }
        fields.append(Array((r.dstDnsName ?? "").utf8))
        return fields.map(hex)
    }

    private func tsharkTime(_ milliseconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "MMM d, yyyy HH:mm:ss.SSS"
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)) + "000000 UTC"
    }

    @Test(arguments: [PcapWriter.Transport.udp, .tcp])
    func tsharkDecodesEveryField(transport: PcapWriter.Transport) throws {
        let port: UInt16 = 47390
        var pcap = PcapWriter()
        // TCP carries bigger messages, so one segment holds several sets.
        for message in encodedMessages(maxMessageSize: transport == .udp ? 1400 : 8000) {
            pcap.add(message, transport: transport, port: port)
        }
        let file = try ExternalTool.temporaryFile("ipfix.pcap", pcap.bytes)
        defer { try? FileManager.default.removeItem(at: file) }
        let layer = transport == .udp ? "udp" : "tcp"
        let output = try ExternalTool.run(
            "tshark",
            ["-r", file.path, "-d", "\(layer).port==\(port),cflow", "-T", "json", "--no-duplicate-keys"],
            install: Self.tsharkInstall)
        let json = try JSONSerialization.jsonObject(with: output)

        let flows = tsharkFlows(json)
        try #require(flows.count == Fixtures.all.count, "tshark found \(flows.count) flows")
        for (flow, r) in zip(flows, Fixtures.all) {
            let ipv6 = !r.srcAddr.isIPv4
            let times = flow["cflow.timedelta_tree"] as? [String: Any]
            let expected: [(String, String)] = [
                (ipv6 ? "cflow.srcaddrv6" : "cflow.srcaddr", r.srcAddr.text),
                (ipv6 ? "cflow.dstaddrv6" : "cflow.dstaddr", r.dstAddr.text),
                ("cflow.srcport", "\(r.srcPort)"), ("cflow.dstport", "\(r.dstPort)"),
                ("cflow.protocol", "\(r.proto)"), ("cflow.ethernet_type", "\(r.etype)"),
                ("cflow.octets", "\(r.bytes)"), ("cflow.packets", "\(r.packets)"),
                ("cflow.tcpflags", "0x" + String(r.flags, radix: 16).leftPadded(4)),
                ("cflow.direction", "\(r.ifDirections.first ?? 0)"),
                ("cflow.if_name", r.interfaces.joined(separator: ",")),
            ]
            for (field, value) in expected {
                // tshark leaves out a zero-length string.
                #expect(flow[field] as? String ?? "" == value, "\(field) of \(r.srcAddr):\(r.srcPort)")
            }
            #expect(times?["cflow.abstimestart"] as? String == tsharkTime(r.timeFlowStartMs))
            #expect(times?["cflow.abstimeend"] as? String == tsharkTime(r.timeFlowEndMs))
            let entries = flow["cflow.enterprise_private_entry"]
            let enterprise = (entries as? [String]) ?? (entries as? String).map { [$0] } ?? []
            #expect(enterprise == expectedEnterpriseOctets(r).filter { !$0.isEmpty })
        }

        // tshark knows CERT's PEN and ours is the documentation PEN it also names.
        let fields = tsharkTemplateFields(json).values
        let cert = fields.filter {
            $0["cflow.template_ipfix_field_pen"] as? String == "6871"
                && $0["cflow.template_ipfix_field_type_enterprise"] as? String == "226"
        }
        #expect(!cert.isEmpty)
        #expect(tsharkTemplateFields(json).keys.contains { $0.hasSuffix("226 [pen: CERT Coordination Center]") })
        let ours = fields.filter { $0["cflow.template_ipfix_field_pen"] as? String == "\(IPFIX.defaultEnterpriseId)" }
        // Every enterprise element of ours but the three that only basicLists hold.
        #expect(Set(ours.compactMap { $0["cflow.template_ipfix_field_type_enterprise"] as? String }).count == 36)
    }

    /// RFC 6313 lists as this test spells them, independently of the encoder: a basicList of one of
    /// our elements, and the stages' subTemplateList.
    private func basicList(_ element: UInt16, length: UInt16, _ values: [[UInt8]]) -> [UInt8] {
        var list: [UInt8] = [IPFIX.orderedSemantic] + bigEndian(element | 0x8000) + bigEndian(length)
        list += bigEndian(IPFIX.defaultEnterpriseId)
        for value in values { list += value }
        return list
    }

    private func octets(_ address: IPAddress) -> [UInt8] {
        switch address {
        case .v4(let value): bigEndian(value)
        case .v6(let high, let low): bigEndian(high) + bigEndian(low)
        }
    }

    private func string(_ text: String) -> [UInt8] { [UInt8(text.utf8.count)] + Array(text.utf8) }

    private func answerLists(_ r: FlowRecord) -> (v4: [UInt8], v6: [UInt8], cnames: [UInt8]) {
        let addresses = r.dnsAnswers?.addresses ?? []
        let v4: [[UInt8]] = addresses.filter(\.isIPv4).map(octets)
        let v6: [[UInt8]] = addresses.filter { !$0.isIPv4 }.map(octets)
        let cnames: [[UInt8]] = (r.dnsAnswers?.cnames ?? []).map(string)
        return (basicList(15, length: 4, v4), basicList(16, length: 16, v6), basicList(17, length: 0xFFFF, cnames))
    }

    private func stageList(_ r: FlowRecord) -> [UInt8] {
        let template: UInt16 = r.dnsStages.first?.serverAddr.isIPv4 == false ? 263 : 262
        var list: [UInt8] = [IPFIX.orderedSemantic] + bigEndian(template)
        for stage in r.dnsStages {
            list += octets(stage.serverAddr) + bigEndian(stage.netNs)
            list += string(stage.netNsName ?? "") + string(stage.interface)
            list += bigEndian(stage.serverPort) + bigEndian(stage.latencyNs ?? .max)
        }
        return list
    }

    @Test func tsharkDecodesTheTransactionsStagesAndShowsItsAnswerLists() throws {
        let port: UInt16 = 47391
        var pcap = PcapWriter()
        for message in encodedMessages(Fixtures.transactions) { pcap.add(message, transport: .udp, port: port) }
        let file = try ExternalTool.temporaryFile("transactions.pcap", pcap.bytes)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try ExternalTool.run(
            "tshark", ["-r", file.path, "-d", "udp.port==\(port),cflow", "-T", "json", "--no-duplicate-keys"],
            install: Self.tsharkInstall)
        let flows = tsharkFlows(try JSONSerialization.jsonObject(with: output))
        try #require(flows.count == Fixtures.transactions.count, "tshark found \(flows.count) flows")
        for (flow, r) in zip(flows, Fixtures.transactions) {
            let ipv6 = !r.srcAddr.isIPv4
            let xlat = r.xlatDstAddr ?? (ipv6 ? .v6(high: 0, low: 0) : .v4(0))
            // tshark 4.0 spells the two families' field names differently.
            #expect(
                flow[ipv6 ? "cflow.post_nat_destination_ipv6_address" : "cflow.post_natdestination_ipv4_address"]
                    as? String == xlat.text)
            #expect(flow["cflow.post_naptdestination_transport_port"] as? String == "\(r.xlatDstPort ?? 0)")

            // The subTemplateLists (stages, upstreams, clients served): the first, stage by stage: IANA
            // fields by name, ours as their octets.
            let lists = flow["cflow.subtemplate_list"] as? [[String: Any]] ?? []
            try #require(lists.count == 3, "\(flow["cflow.subtemplate_list"] ?? "no list")")
            let list = lists[0]
            #expect(list["cflow.subtemplate_semantic"] as? String == "4")
            #expect(list["cflow.subtemplate_id"] as? String == (ipv6 ? "263" : "262"))
            for (index, stage) in r.dnsStages.enumerated() {
                let item = try #require(list["List Item \(index + 1)"] as? [String: Any], "stage \(index)")
                #expect(item[ipv6 ? "cflow.dstaddrv6" : "cflow.dstaddr"] as? String == stage.serverAddr.text)
                #expect(item["cflow.dstport"] as? String == "\(stage.serverPort)")
                #expect(item["cflow.if_name"] as? String == stage.interface)
                let entries = item["cflow.enterprise_private_entry"]
                let enterprise = (entries as? [String]) ?? (entries as? String).map { [$0] } ?? []
                let expected = [
                    bigEndian(stage.netNs), Array((stage.netNsName ?? "").utf8), bigEndian(stage.latencyNs ?? .max),
                ]
                #expect(enterprise == expected.filter { !$0.isEmpty }.map(hex), "stage \(index)")
            }
            #expect(list["List Item \(r.dnsStages.count + 1)"] == nil)

            // tshark 4.0 has no basicList dissector: each list is one entry of element 291, its octets.
            let entries = flow["cflow.enterprise_private_entry"] as? [String] ?? []
            let answers = answerLists(r)
            for octets in [answers.v4, answers.v6, answers.cnames] {
                #expect(entries.contains(hex(octets)), "\(hex(octets)) in \(entries)")
            }
        }
    }

    // MARK: python-ipfix

    private enum Value: Decodable, Equatable, CustomStringConvertible {
        case number(UInt64)
        case text(String)
        case list([UInt64])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(UInt64.self) {
                self = .number(number)
            } else if let text = try? container.decode(String.self) {
                self = .text(text)
            } else {
                self = .list(try container.decode([UInt64].self))
            }
        }

        var description: String {
            switch self {
            case .number(let n): "\(n)"
            case .text(let t): t.debugDescription
            case .list(let l): "\(l)"
            }
        }
    }

    /// `records` as scripts/python_ipfix_decode.py prints them: one object per data record.
    private func pythonDecoded(_ records: [FlowRecord]) throws -> [[String: Value]] {
        let stream = try ExternalTool.temporaryFile("stream.ipfix", encodedMessages(records).flatMap { $0 })
        defer { try? FileManager.default.removeItem(at: stream) }
        let script = ExternalTool.repositoryRoot.appendingPathComponent("scripts/python_ipfix_decode.py")
        let output = try ExternalTool.run(
            "python3", [script.path, stream.path, "\(IPFIX.defaultEnterpriseId)"], install: Self.pythonInstall)
        return try JSONDecoder().decode([[String: Value]].self, from: output)
    }

    /// The IPFIX element each JSON key of `FlowRecord` travels in, and the value it must have there.
    private func expectedIPFIX(_ r: FlowRecord) throws -> [String: Value] {
        var line: [UInt8] = []
        FlowRecordJSON.encodeLine(r, into: &line)
        let json = try JSONSerialization.jsonObject(with: Data(line)) as! [String: Any]
        let family = r.srcAddr.isIPv4 ? "IPv4" : "IPv6"
        var expected: [String: Value] = [
            "source\(family)Address": .text(json["SrcAddr"] as! String),
            "destination\(family)Address": .text(json["DstAddr"] as! String),
            "sourceTransportPort": .number((json["SrcPort"] as! NSNumber).uint64Value),
            "destinationTransportPort": .number((json["DstPort"] as! NSNumber).uint64Value),
            "protocolIdentifier": .number((json["Proto"] as! NSNumber).uint64Value),
            "ethernetType": .number((json["Etype"] as! NSNumber).uint64Value),
            "octetDeltaCount": .number((json["Bytes"] as! NSNumber).uint64Value),
            "packetDeltaCount": .number((json["Packets"] as! NSNumber).uint64Value),
            "flowStartMilliseconds": .number((json["TimeFlowStartMs"] as! NSNumber).uint64Value),
            "flowEndMilliseconds": .number((json["TimeFlowEndMs"] as! NSNumber).uint64Value),
            "tcpControlBits": .number((json["Flags"] as! NSNumber).uint64Value),
            "interfaceName": .text((json["Interfaces"] as! [String]).joined(separator: ",")),
            "flowDirection": .number((json["IfDirections"] as! [NSNumber]).first?.uint64Value ?? 0),
            "dnsflowIfDirections": .list((json["IfDirections"] as! [NSNumber]).map(\.uint64Value)),
            "dnsflowNetNs": .number((json["NetNs"] as! NSNumber).uint64Value),
            "dnsflowNodeName": .text(json["NodeName"] as! String),
            "dnsflowRecordType": .number(UInt64(r.recordType.rawValue)),
            "dnsflowNetNsName": .text(r.netNsName ?? ""),
            "dnsflowDstDnsName": .text(r.dstDnsName ?? ""),
        ]
        for side in ["Src", "Dst"] {
            for field in ["Name", "Namespace", "Type", "OwnerName", "OwnerType", "HostName"] {
                expected["dnsflow\(side)K8S\(field)"] = .text(json["\(side)K8S_\(field)"] as? String ?? "")
            }
        }
        var covered: Set<String> = [
            "SrcAddr", "DstAddr", "SrcPort", "DstPort", "Proto", "Etype", "Bytes", "Packets", "TimeFlowStartMs",
            "TimeFlowEndMs", "Flags", "Interfaces", "IfDirections", "NetNs", "NodeName", "RecordType", "NetNsName",
            "DstDnsName",
        ]
        covered.formUnion(
            ["Src", "Dst"].flatMap { side in
                ["Name", "Namespace", "Type", "OwnerName", "OwnerType", "HostName"].map { "\(side)K8S_\($0)" }
            })
        if let id = json["DnsId"] as? NSNumber {
            let latency = (json["DnsLatencyMs"] as? NSNumber).map { UInt64(($0.doubleValue * 1e6).rounded()) }
            expected["certDnsId"] = .number(id.uint64Value)
            expected["dnsflowDnsId"] = .number(id.uint64Value)
            expected["dnsflowDnsFlags"] = .number((json["DnsFlags"] as? NSNumber)?.uint64Value ?? 0)
            expected["dnsflowDnsRcode"] = .number(
                UInt64((json["DnsFlagsResponseCode"] as? String).flatMap { DNSResponseCode(name: $0)?.rawValue } ?? 255)
            )
            expected["dnsflowDnsLatencyNanoseconds"] = .number(latency ?? .max)
            expected["dnsflowDnsQType"] = .number(
                UInt64((json["DnsQType"] as? String).flatMap { DNSQueryType(name: $0)?.rawValue } ?? 0))
            expected["dnsflowDnsErrno"] = .number((json["DnsErrno"] as? NSNumber)?.uint64Value ?? 255)
            expected["dnsflowDnsName"] = .text(json["DnsName"] as? String ?? "")
            covered.formUnion([
                "DnsId", "DnsFlags", "DnsFlagsResponseCode", "DnsLatencyMs", "DnsQType", "DnsErrno", "DnsName",
            ])
        }
        #expect(Set(json.keys).isSubset(of: covered), "a FlowRecord field has no IPFIX element in this check")
        return expected
    }

    @Test func pythonIPFIXDecodesEveryFieldIncludingEnterpriseOnes() throws {
        let records = Fixtures.all + [Fixtures.ipv4FlowBetweenPods]
        let decoded = try pythonDecoded(records)
        try #require(decoded.count == records.count)
        for (actual, record) in zip(decoded, records) {
            let expected = try expectedIPFIX(record)
            #expect(Set(actual.keys) == Set(expected.keys))
            for (name, value) in expected {
                if case .text(let address) = value, name.hasSuffix("Address") {
                    // Python 3.11 writes mapped addresses in hex; compare the addresses, not the text.
                    guard case .text(let other) = actual[name] else {
                        Issue.record("\(name) missing")
                        continue
                    }
                    #expect(IPAddress(other) == IPAddress(address), "\(name)")
                } else {
                    #expect(actual[name] == value, "\(name) of \(record.srcAddr):\(record.srcPort)")
                }
            }
        }
    }
}

extension ThirdPartyDecoderTests {
    /// python-ipfix 0.9.7 reads every scalar element of the transaction by name; it has no RFC 6313
    /// types, so its lists come out as octets, which must be the lists' layout.
    @Test func pythonIPFIXDecodesTheTransactionAndFramesItsLists() throws {
        let decoded = try pythonDecoded(Fixtures.transactions)
        try #require(decoded.count == Fixtures.transactions.count)
        for (actual, r) in zip(decoded, Fixtures.transactions) {
            let family = r.srcAddr.isIPv4 ? "IPv4" : "IPv6"
            let xlat = r.xlatDstAddr ?? (r.srcAddr.isIPv4 ? .v4(0) : .v6(high: 0, low: 0))
            let answers = answerLists(r)
            func list(_ octets: [UInt8]) -> Value { .list(octets.map(UInt64.init)) }
            let expected: [String: Value] = [
                "dnsflowRecordType": .number(1),
                "dnsflowNetNsName": .text(r.netNsName ?? ""),
                "dnsflowDnsId": .number(UInt64(r.dnsId!)),
                "dnsflowDnsLatencyNanoseconds": .number(r.dnsLatencyNs ?? .max),
                "postNATDestination\(family)Address": .text(xlat.text),
                "postNAPTDestinationTransportPort": .number(UInt64(r.xlatDstPort ?? 0)),
                "dnsflowDnsRetransmits": .number(UInt64(r.dnsRetransmits ?? .max)),
                "dnsflowDnsTtl": .number(UInt64(r.dnsAnswers?.ttl ?? .max)),
                "dnsflowPid": .number(UInt64(r.requester?.pid ?? 0)),
                "dnsflowComm": .text(r.requester?.comm ?? ""),
                "dnsflowCgroupId": .number(r.requester?.cgroupId ?? 0),
                "dnsflowContainerId": .text(r.requester?.containerId ?? ""),
                "dnsflowPodUid": .text(r.requester?.podUid ?? ""),
                "subTemplateList": list(stageList(r)),
                "basicList": list(answers.v4),
                "basicList#2": list(answers.v6),
                "basicList#3": list(answers.cnames),
            ]
            for (name, value) in expected {
                #expect(actual[name] == value, "\(name) of \(r.srcAddr):\(r.srcPort)")
            }
            #expect(actual["dnsflowDstDnsName"] == nil, "a transaction's template has no DstDnsName")
        }
    }

    /// The linked-lookup subTemplateList as this test spells it: addresses as IPv6 (IPv4 mapped).
    private func linkedList(_ lookups: [DNSLinkedLookup], upstream: Bool) -> [UInt8] {
        var list: [UInt8] = [IPFIX.orderedSemantic] + bigEndian(UInt16(upstream ? 264 : 265))
        for lookup in lookups {
            let mapped: [UInt8] =
                if case .v4 = lookup.addr { Array(repeating: 0, count: 10) + [0xFF, 0xFF] + octets(lookup.addr) } else {
                    octets(lookup.addr)
                }
            list += mapped + bigEndian(lookup.port) + bigEndian(lookup.dnsId)
            if upstream { list += bigEndian(lookup.latencyNs ?? .max) + [lookup.rcode?.rawValue ?? 255] }
        }
        return list
    }

    /// python-ipfix reads the cache verdict, the source and the Kubernetes names by name, and the
    /// upstream and served lists as octets in their layout.
    @Test func pythonIPFIXDecodesTheServerSideAndTheKubernetesNames() throws {
        let records = [Fixtures.serverSideMiss, Fixtures.upstreamServing]
        let decoded = try pythonDecoded(records)
        try #require(decoded.count == records.count)
        for (actual, r) in zip(decoded, records) {
            func list(_ octets: [UInt8]) -> Value { .list(octets.map(UInt64.init)) }
            let expected: [String: Value] = [
                "dnsflowDnsCacheHit": .number(r.dnsCacheHit.map { $0 ? 1 : 0 } ?? 255),
                "dnsflowDnsServerSource": .number(UInt64(r.dnsServerSource?.rawValue ?? 0)),
                "subTemplateList": list(stageList(r)),
                "subTemplateList#2": list(linkedList(r.dnsUpstream, upstream: true)),
                "subTemplateList#3": list(linkedList(r.dnsServes, upstream: false)),
                "dnsflowSrcK8SName": .text(r.srcK8S?.name ?? ""),
                "dnsflowSrcK8SNamespace": .text(r.srcK8S?.namespace ?? ""),
                "dnsflowSrcK8SType": .text(r.srcK8S?.kind.name ?? ""),
                "dnsflowSrcK8SOwnerName": .text(r.srcK8S?.ownerName ?? ""),
                "dnsflowSrcK8SOwnerType": .text(r.srcK8S?.ownerType ?? ""),
                "dnsflowSrcK8SHostName": .text(r.srcK8S?.hostName ?? ""),
                "dnsflowDstK8SName": .text(r.dstK8S?.name ?? ""),
                "dnsflowDstK8SType": .text(r.dstK8S?.kind.name ?? ""),
                "dnsflowXlatDstK8SName": .text(r.xlatDstK8S?.name ?? ""),
                "dnsflowXlatDstK8SNamespace": .text(r.xlatDstK8S?.namespace ?? ""),
            ]
            for (name, value) in expected {
                #expect(actual[name] == value, "\(name) of \(r.srcAddr):\(r.srcPort)")
            }
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(width - count, 0)) + self
    }
}
