import DNSFlowCore
import Testing

struct DNSQuestionTests {
    private func wire(_ labels: [String], type: UInt16 = 1) -> [UInt8] {
        labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0, UInt8(type >> 8), UInt8(type & 0xff), 0, 1]
    }

    @Test func decodesNameAndType() throws {
        let question = try DNSQuestion.decode(wire(["www", "example", "test"], type: 28))
        #expect(question == DNSQuestion(name: "www.example.test", type: .aaaa))
    }

    @Test func rootName() throws {
        #expect(try DNSQuestion.decode([0, 0, 2, 0, 1]) == DNSQuestion(name: ".", type: DNSQueryType(rawValue: 2)))
    }

    @Test func escapesLikeDig() throws {
        let bytes: [UInt8] = [3, UInt8(ascii: "a"), UInt8(ascii: "."), 0x07, 4] + Array("test".utf8) + [0, 0, 1]
        #expect(try DNSQuestion.decode(bytes).name == "a\\.\\007.test")
    }

    @Test func fullLengthName() throws {
        // 4 labels of 63 bytes, 1 + 4 × 64 = 257 > 255: too long; 3 labels + 61 fits exactly.
        let long = String(repeating: "x", count: 63)
        #expect(throws: DNSQuestion.DecodingError(reason: .nameTooLong)) {
            try DNSQuestion.decode(wire([long, long, long, long]))
        }
        let fits = try DNSQuestion.decode(wire([long, long, long, String(repeating: "y", count: 61)]))
        #expect(fits.name.count == 253)
    }

    @Test(arguments: [
        ([UInt8](), DNSQuestion.DecodingError.Reason.truncated),
        ([3, 0x61, 0x62], .truncated),
        ([1, 0x61, 0, 0], .truncated),
        ([0xc0, 0x0c, 0, 1], .compressionPointer),
        ([0x41, 0, 0, 1], .reservedLabelType),
        ([63] + [UInt8](repeating: 0x61, count: 10), .truncated),
    ])
    func rejectsMalformed(bytes: [UInt8], reason: DNSQuestion.DecodingError.Reason) {
        #expect(throws: DNSQuestion.DecodingError(reason: reason)) { try DNSQuestion.decode(bytes) }
    }

    @Test func rcodeAndTypeNames() {
        #expect(DNSResponseCode(rawValue: 3).name == "NXDomain")
        #expect(DNSResponseCode(rawValue: 15).name == "RCode15")
        #expect(DNSResponseCode(name: "nxdomain")?.rawValue == 3)
        #expect(DNSResponseCode(name: "3")?.rawValue == 3 && DNSResponseCode(name: "RCode15")?.rawValue == 15)
        #expect(DNSResponseCode(name: "Weird") == nil)
        #expect(DNSResponseCode(flags: 0x8183) == .nameError)
        #expect(DNSQueryType(rawValue: 28).name == "AAAA")
        #expect(DNSQueryType(rawValue: 4242).name == "TYPE4242")
        #expect(DNSQueryType(name: "TYPE4242")?.rawValue == 4242 && DNSQueryType(name: "aaaa") == .aaaa)
        #expect(DNSQueryType(name: "B") == nil)
    }
}
