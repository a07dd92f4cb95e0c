import DNSFlowCore
import Testing

@Suite struct DNSAnswerSectionTests {
    /// Bytes after the header of responses from dnsmasq 2.90, started with
    /// `--host-record=web.example.test,10.9.9.9,fd00::9 --cname=www.example.test,alias.example.test
    /// --cname=alias.example.test,web.example.test --local-ttl=77` and asked over UDP.
    static func hex(_ text: String) -> [UInt8] {
        stride(from: 0, to: text.count, by: 2).map { i in
            let start = text.index(text.startIndex, offsetBy: i)
            return UInt8(text[start..<text.index(start, offsetBy: 2)], radix: 16)!
        }
    }

    /// www.example.test A: two CNAMEs, then the address; owner names point into earlier data.
    static let cnameChain = hex(
        "03777777076578616d706c6504746573740000010001c00c000500010000004d001405616c696173076578616d706c65"
            + "047465737400c02e000500010000004d001203776562076578616d706c65047465737400c04e000100010000004d"
            + "00040a090909")
    /// web.example.test AAAA.
    static let aaaa = hex(
        "03776562076578616d706c65047465737400001c0001c00c001c00010000004d0010fd000000000000000000000000000009")
    /// nope.example.test A: NXDOMAIN, no answers.
    static let nxdomain = hex("046e6f7065076578616d706c6504746573740000010001")

    static func name(_ labels: String...) -> [UInt8] {
        labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    static func record(owner: [UInt8], type: UInt16, ttl: UInt32, data: [UInt8]) -> [UInt8] {
        owner + [UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
            + [UInt8(ttl >> 24), UInt8(ttl >> 16 & 0xff), UInt8(ttl >> 8 & 0xff), UInt8(ttl & 0xff)]
            + [UInt8(data.count >> 8), UInt8(data.count & 0xff)] + data
    }

    /// The question `a.example.test A IN`; its name is at message offset 12, "example" at 14.
    static let question = name("a", "example", "test") + [0, 1, 0, 1]

    @Test("dnsmasq's CNAME chain: both targets in order, the address, the TTL")
    func cnameChain() throws {
        let answers = try DNSAnswerSection.decode(Self.cnameChain, answerCount: 3)
        #expect(answers.cnames == ["alias.example.test", "web.example.test"])
        #expect(answers.addresses == [IPAddress(ipv4: 10, 9, 9, 9)])
        #expect(answers.ttl == 77)
    }

    @Test("dnsmasq's AAAA answer")
    func aaaa() throws {
        let answers = try DNSAnswerSection.decode(Self.aaaa, answerCount: 1)
        #expect(answers.addresses == ["fd00::9"])
        #expect(answers.cnames.isEmpty && answers.ttl == 77)
    }

    @Test("an NXDOMAIN response has nothing to answer")
    func nxdomain() throws {
        #expect(try DNSAnswerSection.decode(Self.nxdomain, answerCount: 0) == .none)
    }

    @Test("a CNAME target compressed against the question; the smallest TTL of all records")
    func compressedTarget() throws {
        let pointer: [UInt8] = [0xc0, 12]
        let toExample: [UInt8] = [0xc0, 14]
        let bytes =
            Self.question
            + Self.record(owner: pointer, type: 5, ttl: 300, data: [3] + Array("www".utf8) + toExample)
            // Owned by the CNAME's target, at message offset 12 + 20 + 12.
            + Self.record(owner: [0xc0, 44], type: 1, ttl: 60, data: [192, 0, 2, 1])
            + Self.record(owner: [0xc0, 44], type: 1, ttl: 120, data: [192, 0, 2, 2])
        let answers = try DNSAnswerSection.decode(bytes, answerCount: 3)
        #expect(answers.cnames == ["www.example.test"])
        #expect(answers.addresses == [IPAddress(ipv4: 192, 0, 2, 1), IPAddress(ipv4: 192, 0, 2, 2)])
        #expect(answers.ttl == 60)
    }

    @Test("records of other types count for the TTL only; A of another class is no address")
    func otherTypes() throws {
        let mx = Self.record(owner: [0xc0, 12], type: 15, ttl: 30, data: [0, 10] + Self.name("mx"))
        var chaos = Self.record(owner: [0xc0, 12], type: 1, ttl: 90, data: [10, 0, 0, 1])
        chaos[5] = 3  // class CH
        let answers = try DNSAnswerSection.decode(Self.question + mx + chaos, answerCount: 2)
        #expect(answers.addresses.isEmpty && answers.cnames.isEmpty)
        #expect(answers.ttl == 30)
    }

    @Test("a message cut anywhere keeps the records complete before the cut")
    func truncated() throws {
        let full = try DNSAnswerSection.decode(Self.cnameChain, answerCount: 3)
        // Where each record ends: the question is 22 bytes, then 12 + 20, 12 + 18 and 12 + 4.
        let ends = [22 + 32, 22 + 32 + 30, 22 + 32 + 30 + 16]
        for length in 0...Self.cnameChain.count {
            let cut = try DNSAnswerSection.decode(Array(Self.cnameChain.prefix(length)), answerCount: 3)
            let complete = ends.filter { $0 <= length }.count
            #expect(cut.cnames == Array(full.cnames.prefix(complete)), "cut at \(length)")
            #expect(cut.addresses == (complete == 3 ? full.addresses : []), "cut at \(length)")
            #expect(cut.ttl == (complete > 0 ? 77 : nil), "cut at \(length)")
        }
    }

    @Test(
        "malformed names and records are typed errors",
        arguments: [
            // A pointer to itself, and past itself.
            ([0xc0, 17], DNSAnswerSection.DecodingError.Reason.forwardPointer),
            ([0xc0, 40], .forwardPointer),
            // Into the header.
            ([0xc0, 2], .pointerIntoHeader),
            // "x", then a pointer back to that "x": the name would repeat forever.
            ([1, UInt8(ascii: "x"), 0xc0, 17], .pointerLoop),
            ([0x40], .reservedLabelType),
            // A label of 64 bytes has the 0x40 bit set: the RFC 6891 extended label type.
            ([64] + [UInt8](repeating: 0x61, count: 64) + [0], .reservedLabelType),
        ] as [([UInt8], DNSAnswerSection.DecodingError.Reason)])
    func malformedOwner(owner: [UInt8], reason: DNSAnswerSection.DecodingError.Reason) {
        // The owner name starts right after the 5-byte root question, at message offset 17.
        let bytes: [UInt8] = [0, 0, 1, 0, 1] + Self.record(owner: owner, type: 1, ttl: 1, data: [10, 0, 0, 1])
        #expect(throws: DNSAnswerSection.DecodingError(reason: reason)) {
            try DNSAnswerSection.decode(bytes, answerCount: 1)
        }
    }

    @Test("a name longer than 255 bytes, an address of the wrong length, a CNAME past its data")
    func malformedRecords() {
        let label: [UInt8] = [63] + [UInt8](repeating: 0x61, count: 63)
        let long: [UInt8] = label + label + label + label + [0]
        let cases: [([UInt8], DNSAnswerSection.DecodingError.Reason)] = [
            (Self.question + Self.record(owner: long, type: 1, ttl: 1, data: [1, 2, 3, 4]), .nameTooLong),
            (Self.question + Self.record(owner: [0xc0, 12], type: 1, ttl: 1, data: [1, 2, 3]), .addressLength),
            (Self.question + Self.record(owner: [0xc0, 12], type: 28, ttl: 1, data: [1, 2, 3, 4]), .addressLength),
            (
                Self.question + Self.record(owner: [0xc0, 12], type: 5, ttl: 1, data: [1]) + [0x61, 0], .nameOutsideData
            ),
        ]
        for (bytes, reason) in cases {
            #expect(throws: DNSAnswerSection.DecodingError(reason: reason)) {
                try DNSAnswerSection.decode(bytes, answerCount: 1)
            }
        }
    }

    @Test("a chain of 16 pointers is followed; 17 are too many")
    func pointerHops() throws {
        func message(pointers: Int) -> [UInt8] {
            // A root question, then a record whose data is a chain of pointers, each to the one
            // before it, the first to the question's name; the next record's owner points to the last.
            let chainStart = 5 + 11
            var chain: [UInt8] = [0xc0, 12]
            for i in 1..<pointers { chain += [0xc0, UInt8(12 + chainStart + 2 * (i - 1))] }
            let last = UInt8(12 + chainStart + 2 * (pointers - 1))
            let root: [UInt8] = [0, 0, 1, 0, 1]
            return root + Self.record(owner: [0], type: 99, ttl: 5, data: chain)
                + Self.record(owner: [0xc0, last], type: 1, ttl: 5, data: [10, 0, 0, 1])
        }
        #expect(try DNSAnswerSection.decode(message(pointers: 15), answerCount: 2).addresses.count == 1)
        #expect(throws: DNSAnswerSection.DecodingError(reason: .tooManyPointers)) {
            try DNSAnswerSection.decode(message(pointers: 16), answerCount: 2)
        }
    }

    @Test("fuzzed: mutated and random messages never crash and never answer more than ANCOUNT records")
    func fuzzed() {
        // A fixed-seed linear congruential generator (Knuth's MMIX constants), so a failing round repeats.
        var state: UInt64 = 0x15_d5f1
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let seeds = [Self.cnameChain, Self.aaaa, Self.nxdomain]
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int(next() % 600)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                bytes = seeds[Int(next() % 3)]
                for _ in 0..<(1 + next() % 4) where !bytes.isEmpty {
                    bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
                }
                bytes = Array(bytes.prefix(Int(next() % UInt64(bytes.count + 1))))
            }
            let count = Int(next() % 8)
            if let answers = try? DNSAnswerSection.decode(bytes, answerCount: count) {
                #expect(answers.addresses.count + answers.cnames.count <= count)
                #expect(answers.cnames.allSatisfy { $0.utf8.count <= 4 * 255 })
            }
        }
    }
}
