/// The answer section of a DNS response (RFC 1035 4.1.3), decoded from the bytes that follow the
/// message's 12-byte header: its A and AAAA addresses, its CNAME targets and its smallest TTL.
///
/// The kernel cuts what it copies (bpf/dnsflow.h, `DNSFLOW_MAX_MESSAGE`), so input that ends
/// inside a record is no error: the records complete before the cut are kept.
public enum DNSAnswerSection {
    public struct DecodingError: Error, Hashable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case nameTooLong = "a name is longer than 255 bytes"
            case reservedLabelType = "a label type reserved by RFC 6891"
            case pointerIntoHeader = "a compression pointer into the header"
            case forwardPointer = "a compression pointer to itself or past itself"
            case pointerLoop = "a compression pointer into its own name"
            case tooManyPointers = "a name that follows more than 16 compression pointers"
            case addressLength = "an A or AAAA record whose data is not 4 or 16 bytes"
            case nameOutsideData = "a CNAME whose name runs past its record's data"
        }
        public var reason: Reason
        public init(reason: Reason) { self.reason = reason }
        public var description: String { "DNS answer section: \(reason.rawValue)" }
    }

    /// Where the bytes start in the message: compression pointers count from the header's first byte.
    static let headerLength = 12
    /// Pointers always point back, so a name cannot loop; this bounds the work a hostile one costs.
    static let maxPointerHops = 16

    private static let typeA: UInt16 = 1
    private static let typeCNAME: UInt16 = 5
    private static let typeAAAA: UInt16 = 28
    private static let classIN: UInt16 = 1

    /// Decodes `answerCount` records (the header's ANCOUNT) after the question in `bytes`.
    public static func decode(_ bytes: UnsafeRawBufferPointer, answerCount: Int) throws(DecodingError) -> DNSAnswers {
        var answers = DNSAnswers()
        var reader = Reader(bytes: bytes)
        do throws(Stop) {
            try reader.skipName()
            try reader.skip(4)  // QTYPE, QCLASS
            for _ in 0..<answerCount {
                try reader.record(into: &answers)
            }
        } catch {
            switch error {
            case .truncated: break  // the kernel's cut: what decoded before it stays
            case .invalid(let reason): throw DecodingError(reason: reason)
            }
        }
        return answers
    }

    public static func decode(_ bytes: [UInt8], answerCount: Int) throws(DecodingError) -> DNSAnswers {
        try bytes.withUnsafeBytes { raw in
            Result { () throws(DecodingError) in try decode(raw, answerCount: answerCount) }
        }.get()
    }

    private enum Stop: Error {
        case truncated
        case invalid(DecodingError.Reason)
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func skip(_ count: Int) throws(Stop) {
            guard bytes.count - offset >= count else { throw .truncated }
            offset += count
        }

        func uint16(at index: Int) -> UInt16 {
            UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        }

        /// One resource record; added to `answers` only once all of it is read.
        mutating func record(into answers: inout DNSAnswers) throws(Stop) {
            try skipName()
            let fixed = offset
            try skip(10)  // TYPE, CLASS, TTL, RDLENGTH
            let type = uint16(at: fixed)
            let recordClass = uint16(at: fixed + 2)
            let ttl = UInt32(uint16(at: fixed + 4)) << 16 | UInt32(uint16(at: fixed + 6))
            let dataLength = Int(uint16(at: fixed + 8))
            let data = offset
            try skip(dataLength)
            switch type {
            case typeA where recordClass == classIN:
                guard dataLength == 4 else { throw .invalid(.addressLength) }
                answers.addresses.append(
                    IPAddress(ipv4: bytes[data], bytes[data + 1], bytes[data + 2], bytes[data + 3]))
            case typeAAAA where recordClass == classIN:
                guard dataLength == 16 else { throw .invalid(.addressLength) }
                answers.addresses.append(
                    IPAddress(kernelBytes: UnsafeRawBufferPointer(rebasing: bytes[data..<data + 16]), ipv4: false))
            case typeCNAME:
                var text: [UInt8]? = []
                let end = try readName(at: data, text: &text)
                guard end <= data + dataLength, let text else { throw .invalid(.nameOutsideData) }
                answers.cnames.append(text.isEmpty ? "." : String(decoding: text, as: UTF8.self))
            default:
                break
            }
            answers.ttl = min(answers.ttl ?? .max, ttl)
        }

        mutating func skipName() throws(Stop) {
            var ignored: [UInt8]? = nil
            offset = try readName(at: offset, text: &ignored)
        }

        /// Reads the name at `start`, following compression pointers; returns where its wire form
        /// ends (past the first pointer, if any). `text` (when not nil) gets the dotted name.
        func readName(at start: Int, text: inout [UInt8]?) throws(Stop) -> Int {
            var index = start
            var segment = start  // the labels being read start here: a pointer must point before
            var end: Int? = nil
            var hops = 0
            var wireLength = 1
            while true {
                guard index < bytes.count else { throw .truncated }
                let length = Int(bytes[index])
                switch length & 0xc0 {
                case 0xc0:
                    guard index + 1 < bytes.count else { throw .truncated }
                    let target = (length & 0x3f) << 8 | Int(bytes[index + 1])
                    guard target >= headerLength else { throw .invalid(.pointerIntoHeader) }
                    let position = target - headerLength
                    guard position < index else { throw .invalid(.forwardPointer) }
                    guard position < segment else { throw .invalid(.pointerLoop) }
                    hops += 1
                    guard hops <= maxPointerHops else { throw .invalid(.tooManyPointers) }
                    if end == nil { end = index + 2 }
                    index = position
                    segment = position
                    continue
                case 0x40, 0x80: throw .invalid(.reservedLabelType)
                default: break  // a label: 63 bytes at most
                }
                index += 1
                if length == 0 { return end ?? index }
                wireLength += length + 1
                guard wireLength <= 255 else { throw .invalid(.nameTooLong) }
                guard bytes.count - index >= length else { throw .truncated }
                if text != nil {
                    if !text!.isEmpty { text!.append(UInt8(ascii: ".")) }
                    for byte in bytes[index..<index + length] { DNSQuestion.appendEscaped(byte) { text!.append($0) } }
                }
                index += length
            }
        }
    }
}
