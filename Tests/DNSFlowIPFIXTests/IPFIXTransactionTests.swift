import DNSFlowCore
import Testing

@testable import DNSFlowIPFIX

/// The DNS transaction record: its template, its RFC 6313 lists, and what the decoder does with
/// lists that do not parse.
@Suite struct IPFIXTransactionTests {
    private func messages(_ records: [FlowRecord]) -> (templates: [[UInt8]], data: [UInt8]) {
        var encoder = IPFIXEncoder()
        let templates = encoder.templateMessages(exportTime: 0)
        let data = encoder.encode(records, exportTime: 0).messages
        #expect(data.count == 1)
        return (templates, data[0])
    }

    private func decoded(_ data: [UInt8], after templates: [[UInt8]]) throws -> IPFIXDecodedMessage {
        var decoder = IPFIXDecoder()
        for message in templates { _ = try decoder.decode(message, exporter: "x") }
        return try decoder.decode(data, exporter: "x")
    }

    /// Where `pattern` starts in `bytes`.
    private func offset(of pattern: [UInt8], in bytes: [UInt8]) throws -> Int {
        try #require((0...(bytes.count - pattern.count)).first { Array(bytes[$0..<$0 + pattern.count]) == pattern })
    }

    /// The transaction's stage list starts after its translated destination (10.0.9.53:5353):
    /// its length octet, the semantic, then the sub-template id.
    private func stageListOffset(_ data: [UInt8]) throws -> Int {
        try offset(of: [10, 0, 9, 53, 0x14, 0xE9], in: data) + 6
    }

    @Test func aFourStageTransactionDecodesToTheSameRecord() throws {
        let records = Fixtures.transactions + [Fixtures.ipv4FlowWithName] + Fixtures.all
        var encoder = IPFIXEncoder()
        var decoder = IPFIXDecoder()
        var decodedRecords: [FlowRecord] = []
        for message in encoder.templateMessages(exportTime: 0) + encoder.encode(records, exportTime: 0).messages {
            decodedRecords += try decoder.decode(message, exporter: "x").records
        }
        #expect(decodedRecords == records)
        let transaction = try #require(decodedRecords.first)
        #expect(transaction.recordType == .dnsTransaction)
        #expect(transaction.dnsStages.map(\.latencyNs) == [713_000, 698_000, 483_000, 469_000])
        #expect(transaction.dnsStages[3].netNsName == nil)
        #expect(transaction.requester?.comm == "dig")
        #expect(transaction.dnsAnswers?.cnames == ["web.example.test", "lb.example.test"])
        #expect(decodedRecords[1].dnsStages.first?.latencyNs == nil)
        #expect(decodedRecords[1].xlatDstAddr == nil && decodedRecords[1].requester == nil)
    }

    @Test func theServerSideAndKubernetesNamesDecodeToTheSameRecords() throws {
        var encoder = IPFIXEncoder()
        var decoder = IPFIXDecoder()
        var decoded: [FlowRecord] = []
        let records = Fixtures.serverSideAndKubernetes
        for message in encoder.templateMessages(exportTime: 0) + encoder.encode(records, exportTime: 0).messages {
            let message = try decoder.decode(message, exporter: "x")
            #expect(message.skippedRecords.isEmpty)
            decoded += message.records
        }
        #expect(decoded == records)
        #expect(decoded[0].dnsUpstream.map(\.addr) == ["10.0.1.53", "fd00::53"], "IPv4 unmapped, IPv6 kept")
        #expect(decoded[0].dnsStages == Fixtures.transaction.dnsStages, "the stages' list is still the stages")
        #expect(decoded[1].dnsCacheHit == nil && decoded[1].dnsServes.count == 2)
        #expect(decoded[2].dstK8S?.kind == .node)
    }

    @Test func anUnknownKubernetesTypeSkipsItsRecordAlone() throws {
        let pods = Fixtures.ipv4FlowBetweenPods
        var encoder = IPFIXEncoder()
        let templates = encoder.templateMessages(exportTime: 0)
        var data = try #require(encoder.encode([pods, pods], exportTime: 0).messages.first)
        // The first record's "Pod" becomes "Pox", a type no collector knows; its length is unchanged.
        let pod = try offset(of: Array("Pod".utf8), in: data)
        data[pod + 2] = UInt8(ascii: "x")
        var decoder = IPFIXDecoder()
        for message in templates { _ = try decoder.decode(message, exporter: "x") }
        let message = try decoder.decode(data, exporter: "x")
        #expect(message.records == [Fixtures.ipv4FlowBetweenPods])
        #expect(message.skippedRecords.map(\.message).first?.contains("srcK8SType \"Pox\" is not Pod") == true)
    }

    @Test func templatesAreOnePerKindAndFamilyWithTheStageSubTemplates() {
        #expect(IPFIXTemplate(ipv6: false, recordType: .dnsTransaction, dns: true) == .ipv4Transaction)
        #expect(IPFIXTemplate(ipv6: true, recordType: .dnsTransaction, dns: true) == .ipv6Transaction)
        let transaction = IPFIXTemplate.ipv4Transaction.elements
        #expect(transaction.filter { $0.id == IPFIX.basicListId && $0.owner == .iana }.count == 3)
        #expect(transaction.contains(.dnsStages) && transaction.contains(.postNATDestinationIPv4Address))
        #expect(IPFIXTemplate.ipv6Transaction.elements.contains(.postNATDestinationIPv6Address))
        #expect(IPFIXTemplate.ipv4Stage.elements.first == .destinationIPv4Address)
        #expect(IPFIXTemplate.ipv6Stage.elements.first == .destinationIPv6Address)
        // Every element id is used once per owner, lists aside.
        let subTemplateLists: [IPFIXElement] = [.dnsStages, .dnsUpstream, .dnsServes]
        let plain = IPFIXElement.allCases.filter { $0.listElement == nil && !subTemplateLists.contains($0) }
        #expect(Set(plain.map { "\($0.owner)/\($0.id)" }).count == plain.count)
    }

    @Test func mixedFamiliesAreSkippedAndCounted() {
        var stageV6 = Fixtures.transaction
        stageV6.dnsStages[2].serverAddr = "fd00::53"
        var xlatV6 = Fixtures.transaction
        xlatV6.xlatDstAddr = "fd00::53"
        var encoder = IPFIXEncoder()
        let batch = encoder.encode([stageV6, xlatV6, Fixtures.transaction], exportTime: 0)
        #expect(batch.encodedRecords == 1 && batch.skippedRecords == 2)
    }

    @Test func listsLongerThan254OctetsTakeTheThreeOctetLength() throws {
        var record = Fixtures.transaction
        record.dnsAnswers?.addresses = (1...80).map { IPAddress(ipv4: 10, 9, 0, UInt8($0)) }
        record.dnsAnswers?.cnames = [String(repeating: "c", count: 300) + ".example"]
        let (templates, data) = messages([record])
        #expect(try decoded(data, after: templates).records == [record])
    }

    @Test func anUnknownSubTemplateSkipsTheRecordAndNamesTheTemplate() throws {
        let (templates, original) = messages([Fixtures.transaction, Fixtures.ipv4DNS])
        var data = original
        let list = try stageListOffset(data)
        #expect(data[list + 1] == IPFIX.orderedSemantic && data[list + 2...list + 3] == [0x01, 0x06])
        data[list + 2] = 0x03
        data[list + 3] = 0xE7
        let result = try decoded(data, after: templates)
        #expect(result.records == [Fixtures.ipv4DNS], "the next record still decodes")
        let error = try #require(result.skippedRecords.first)
        #expect(result.skippedRecords.count == 1)
        #expect(error.code == .badList)
        #expect(error.message.contains("template 999, which x never defined"), "\(error)")
    }

    @Test func aStageValuePastTheListSkipsTheRecord() throws {
        let (templates, data) = messages([Fixtures.transaction, Fixtures.ipv4DNS])
        var damaged = data
        // The first stage: its address and netNs, then netNsName's length octet.
        let nameLength = try stageListOffset(data) + 4 + 4 + 4
        #expect(damaged[nameLength] == UInt8("client".utf8.count))
        damaged[nameLength] = 200
        let result = try decoded(damaged, after: templates)
        #expect(result.records == [Fixtures.ipv4DNS])
        let error = try #require(result.skippedRecords.first)
        #expect(error.code == .badList && error.message.contains("stage 0 of template 262"), "\(error)")
    }

    @Test func aBasicListWithTheWrongElementLengthSkipsTheRecord() throws {
        let (templates, data) = messages([Fixtures.transaction])
        var damaged = data
        // The IPv4 answers: semantic, element 0x800F (ours, 15), length 4.
        let header = try offset(of: [IPFIX.orderedSemantic, 0x80, 0x0F, 0x00, 0x04], in: data)
        damaged[header + 4] = 5
        let result = try decoded(damaged, after: templates)
        #expect(result.records.isEmpty)
        #expect(
            result.skippedRecords.first?.message.contains(
                "basicList of dnsAnswerIPv4Address says its values have 5 octets; the element has 4") == true,
            "\(result.skippedRecords)")
    }

    @Test func aListLengthPastTheSetFailsTheMessage() throws {
        let (templates, data) = messages([Fixtures.transaction])
        var damaged = data
        let header = try offset(of: [IPFIX.orderedSemantic, 0x80, 0x0F, 0x00, 0x04], in: data)
        damaged[header - 1] = 250  // the list's length octet
        #expect {
            try decoded(damaged, after: templates)
        } throws: { error in
            let error = error as? IPFIXError
            return error?.code == .truncated && error?.message.contains("a list needs 250 octets") == true
        }
    }

    /// Damage confined to the transaction's lists: every message decodes or fails with an
    /// `IPFIXError`, and a record is only ever skipped with a reason. The seeds are fixed so a
    /// failure replays.
    @Test(arguments: [0x15_6313 as UInt64, 0xD1_5EA5E, 0x0B_AD11])
    func damagedListsNeverCrash(seed: UInt64) throws {
        let (templates, data) = messages([Fixtures.transaction, Fixtures.ipv4DNS, Fixtures.ipv6TransactionTimeout])
        let lists = try stageListOffset(data)
        let listsEnd = try offset(of: Array("dig".utf8), in: data)
        var generator = SplitMix64(seed: seed)
        var outcomes = (decoded: 0, skipped: 0, failed: 0)
        for _ in 0..<1500 {
            var message = data
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                message[Int.random(in: lists..<listsEnd, using: &generator)] = .random(in: 0...255, using: &generator)
            }
            do {
                let result = try decoded(message, after: templates)
                outcomes.decoded += result.records.count
                outcomes.skipped += result.skippedRecords.count
            } catch is IPFIXError {
                outcomes.failed += 1
            } catch {
                Issue.record("not an IPFIXError: \(error)")
            }
        }
        #expect(outcomes.decoded > 0 && outcomes.skipped > 0 && outcomes.failed > 0, "\(outcomes)")
    }
}
