import DNSFlowCore
import DNSFlowIPFIX
import Testing

@Suite struct IPFIXDecoderTests {
    private var encoder = IPFIXEncoder()

    private mutating func templatesAndData() -> (templates: [UInt8], data: [UInt8]) {
        (encoder.templateMessages(exportTime: 0)[0], encoder.encode([Fixtures.ipv4DNS], exportTime: 0).messages[0])
    }

    private func expectError(_ code: IPFIXError.Code, _ body: () throws -> Void) {
        #expect {
            try body()
        } throws: { error in
            (error as? IPFIXError)?.code == code
        }
    }

    @Test mutating func shortMessageIsTruncated() {
        var decoder = IPFIXDecoder()
        expectError(.truncated) { _ = try decoder.decode([0, 10, 0, 16], exporter: "x") }
        let (templates, _) = templatesAndData()
        expectError(.truncated) { _ = try decoder.decode(Array(templates.dropLast(10)), exporter: "x") }
    }

    @Test mutating func wrongVersionIsRejected() {
        var decoder = IPFIXDecoder()
        var (templates, _) = templatesAndData()
        templates[1] = 9
        expectError(.badVersion) { _ = try decoder.decode(templates, exporter: "x") }
    }

    @Test mutating func dataBeforeTemplateIsUnknownTemplate() {
        var decoder = IPFIXDecoder()
        let (templates, data) = templatesAndData()
        expectError(.unknownTemplate) { _ = try decoder.decode(data, exporter: "x") }
        // Templates are kept per exporter.
        _ = try? decoder.decode(templates, exporter: "y")
        expectError(.unknownTemplate) { _ = try decoder.decode(data, exporter: "x") }
        #expect((try? decoder.decode(data, exporter: "y").records) == [Fixtures.ipv4DNS])
        decoder.forget(exporter: "y")
        expectError(.unknownTemplate) { _ = try decoder.decode(data, exporter: "y") }
    }

    @Test mutating func overflowingLengthsThrow() throws {
        var decoder = IPFIXDecoder()
        let (templates, data) = templatesAndData()
        _ = try decoder.decode(templates, exporter: "x")

        var setTooLong = data
        setTooLong[19] = 0xFF  // set length low octet
        expectError(.badLength) { _ = try decoder.decode(setTooLong, exporter: "x") }

        var messageTooShort = data
        messageTooShort[2] = 0
        messageTooShort[3] = 8
        expectError(.badLength) { _ = try decoder.decode(messageTooShort, exporter: "x") }

        // A variable-length field that claims more than the set holds: the node name's length octet.
        var fieldTooLong = data
        let nodeName = Array("node-a.example".utf8)
        let at = (0..<fieldTooLong.count).first { Array(fieldTooLong[$0..<$0 + nodeName.count]) == nodeName }!
        fieldTooLong[at - 1] = 250
        expectError(.truncated) { _ = try decoder.decode(fieldTooLong, exporter: "x") }
    }

    /// Found by fuzzing (bench/fuzz/run.sh): a template whose only field has length 0 made the
    /// decoder read records of no octets forever.
    @Test mutating func zeroLengthRecordsAreRefused() {
        let message: [UInt8] = [
            0x00, 0x0a, 0x00, 0x24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // header, 36 octets
            // template 256: one field, length 0
            0x00, 0x02, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
            0x01, 0x00, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef,  // a data set for it
        ]
        var decoder = IPFIXDecoder()
        expectError(.badTemplate) { _ = try decoder.decode(message, exporter: "fuzz") }
    }

    /// Damaged messages either decode or fail with an `IPFIXError`, never anything else; the seed is
    /// fixed so a failure replays.
    @Test func randomGarbageNeverCrashes() throws {
        var decoder = IPFIXDecoder()
        var generator = SplitMix64(seed: 0x1FF1)
        var encoder = IPFIXEncoder()
        let templates = encoder.templateMessages(exportTime: 0)[0]
        let data = encoder.encode(Fixtures.all, exportTime: 0).messages[0]
        let valid = templates + data
        var (decoded, rejected) = (0, 0)
        for _ in 0..<2000 {
            var message = valid
            for _ in 0..<4 {
                message[Int.random(in: 0..<message.count, using: &generator)] = .random(in: 0...255, using: &generator)
            }
            let cut = Array(message.prefix(Int.random(in: 0...message.count, using: &generator)))
            do {
                let result = try decoder.decode(cut, exporter: "fuzz")
                #expect(result.records.count <= Fixtures.all.count, "more records than the message held")
                decoded += 1
            } catch is IPFIXError {
                rejected += 1
            } catch {
                Issue.record("not an IPFIXError: \(error)")
            }
        }
        #expect(decoded > 0 && rejected > 0, "decoded \(decoded), rejected \(rejected)")
        // The decoder is still sound: undamaged messages decode as before.
        _ = try decoder.decode(templates, exporter: "clean")
        #expect(try decoder.decode(data, exporter: "clean").records == Fixtures.all)
    }

    @Test mutating func framerSplitsAStreamAtMessageBoundaries() throws {
        var decoder = IPFIXDecoder()
        let (templates, data) = templatesAndData()
        let stream = templates + data + data
        var framer = IPFIXStreamFramer()
        var messages: [[UInt8]] = []
        var index = 0
        while index < stream.count {
            let end = min(index + 7, stream.count)  // odd chunk size: headers split across reads
            framer.append(stream[index..<end])
            index = end
            while let message = try framer.next() { messages.append(message) }
        }
        #expect(messages == [templates, data, data])
        let records = try messages.flatMap { try decoder.decode($0, exporter: "tcp").records }
        #expect(records == [Fixtures.ipv4DNS, Fixtures.ipv4DNS])

        var garbage = IPFIXStreamFramer()
        garbage.append([UInt8](repeating: 0x41, count: 20))
        #expect(throws: IPFIXError.self) { try garbage.next() }
    }
}

/// SplitMix64 (Steele, Lea and Flood): a tiny seeded generator, so the fuzz test's inputs repeat.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
