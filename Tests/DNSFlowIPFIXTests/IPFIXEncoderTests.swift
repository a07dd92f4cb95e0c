import DNSFlowCore
import Testing

@testable import DNSFlowIPFIX

@Suite struct IPFIXEncoderTests {
    private func u16(_ m: [UInt8], _ at: Int) -> UInt16 { UInt16(m[at]) << 8 | UInt16(m[at + 1]) }
    private func u32(_ m: [UInt8], _ at: Int) -> UInt32 { UInt32(u16(m, at)) << 16 | UInt32(u16(m, at + 2)) }

    @Test func headerCarriesVersionLengthTimeAndDomain() {
        var encoder = IPFIXEncoder(observationDomainId: 0xA1B2_C3D4)
        let messages =
            encoder.templateMessages(exportTime: 1_763_812_800)
            + encoder
            .encode(Fixtures.all, exportTime: 1_763_812_801).messages
        for message in messages {
            #expect(u16(message, 0) == 10)
            #expect(Int(u16(message, 2)) == message.count)
            #expect(u32(message, 12) == 0xA1B2_C3D4)
        }
        #expect(u32(messages[0], 4) == 1_763_812_800)
        #expect(u32(messages.last!, 4) == 1_763_812_801)
        // The templates come first, in as few messages as the default cap allows.
        #expect(u16(messages[0], 16) == 2 && u16(messages[1], 16) == 2)
    }

    @Test func sequenceNumberCountsDataRecordsSentBefore() {
        var encoder = IPFIXEncoder(maxMessageSize: 400)
        #expect(u32(encoder.templateMessages(exportTime: 0)[0], 8) == 0)
        let batch = encoder.encode(Array(repeating: Fixtures.ipv4DNS, count: 20), exportTime: 0)
        #expect(batch.messages.count > 1)
        var expected: UInt32 = 0
        var decoder = IPFIXDecoder()
        // At 400 octets the templates take several messages.
        for templates in encoder.templateMessages(exportTime: 0) { _ = try? decoder.decode(templates, exporter: "t") }
        for message in batch.messages {
            #expect(u32(message, 8) == expected)
            expected += UInt32((try? decoder.decode(message, exporter: "t").records.count) ?? 0)
        }
        #expect(expected == 20)
        #expect(encoder.sequenceNumber == 20)
        // A template refresh carries the next data record's number.
        #expect(u32(encoder.templateMessages(exportTime: 0)[0], 8) == 20)
    }

    @Test func variableLengthUsesOneOctetBelow255AndThreeFrom255() {
        var short = [UInt8](repeating: 0, count: 8)
        var long = [UInt8](repeating: 0, count: 8)
        short.withUnsafeMutableBytes {
            var w = ByteWriter(base: $0.baseAddress!, offset: 0)
            w.variableLength(254)
        }
        long.withUnsafeMutableBytes {
            var w = ByteWriter(base: $0.baseAddress!, offset: 0)
            w.variableLength(300)
        }
        #expect(short[0] == 254)
        #expect(Array(long[0..<3]) == [255, 0x01, 0x2C])
        // And end to end: the 298-octet name survives.
        var encoder = IPFIXEncoder()
        var decoder = IPFIXDecoder()
        let records =
            (encoder.templateMessages(exportTime: 0)
            + encoder.encode([Fixtures.ipv4DNSLongName], exportTime: 0).messages)
            .flatMap { (try? decoder.decode($0, exporter: "t").records) ?? [] }
        #expect(records == [Fixtures.ipv4DNSLongName])
    }

    @Test func messagesStayUnderTheCap() {
        let records = (0..<1000).map { Fixtures.all[$0 % Fixtures.all.count] }
        var encoder = IPFIXEncoder()
        let batch = encoder.encode(records, exportTime: 0)
        #expect(batch.encodedRecords == 1000)
        #expect(batch.skippedRecords == 0)
        #expect(batch.messages.allSatisfy { $0.count <= 1400 })
        #expect(batch.messages.count > 1000 / 20)
        #expect(encoder.templateMessages(exportTime: 0).allSatisfy { $0.count <= 1400 })
    }

    @Test func recordsThatCannotBeEncodedAreSkippedAndCounted() {
        var encoder = IPFIXEncoder(maxMessageSize: 300)
        var mixedFamily = Fixtures.ipv4Flow
        mixedFamily.dstAddr = "::1"
        var otherMix = Fixtures.ipv6Flow
        otherMix.srcAddr = "10.0.0.1"
        let batch = encoder.encode(
            [otherMix, Fixtures.ipv4DNSLongName, mixedFamily, Fixtures.ipv4Flow], exportTime: 0)
        #expect(batch.skippedRecords == 3)
        #expect(batch.encodedRecords == 1)
        #expect(encoder.sequenceNumber == 1)
    }

    @Test func roundTripKeepsEveryField() throws {
        var encoder = IPFIXEncoder(observationDomainId: 9, enterpriseId: 55555)
        var decoder = IPFIXDecoder(enterpriseId: 55555)
        var decoded: [FlowRecord] = []
        // Another PEN: the basicLists name their elements with it too.
        let records = Fixtures.all + Fixtures.transactions + [Fixtures.ipv4FlowWithName]
        for message in encoder.templateMessages(exportTime: 0) + encoder.encode(records, exportTime: 0).messages {
            decoded += try decoder.decode(message, exporter: "10.0.0.1:4739").records
        }
        #expect(decoded == records)
        #expect(decoded[2].dnsLatencyNs == 1_234_567)
    }
}
