/// The question of a DNS message (RFC 1035 4.1.2): the name and type being asked.
public struct DNSQuestion: Hashable, Sendable {
    /// Full name without the trailing dot; "." for the root.
    public var name: String
    public var type: DNSQueryType

    public init(name: String, type: DNSQueryType) {
        self.name = name
        self.type = type
    }

    public struct DecodingError: Error, Hashable, CustomStringConvertible {
        public enum Reason: String, Sendable {
            case truncated = "the question ends before its name or type does"
            case labelTooLong = "a label is longer than 63 bytes"
            case nameTooLong = "the name is longer than 255 bytes"
            case compressionPointer = "a compression pointer in the question"
            case reservedLabelType = "a label type reserved by RFC 6891"
        }
        public var reason: Reason
        public init(reason: Reason) { self.reason = reason }
        public var description: String { "DNS question: \(reason.rawValue)" }
    }

    /// Decodes the question from the bytes that follow the 12-byte header.
    ///
    /// A question is the first thing after the header, so no earlier name can be pointed to:
    /// a compression pointer there is an error, which also rules out pointer loops.
    /// Inlinable so that callers in other modules (the ring-buffer reader, for every DNS event)
    /// get a version specialized to their byte collection.
    @inlinable
    public static func decode(_ bytes: some Collection<UInt8>) throws(DecodingError) -> DNSQuestion {
        // The text is made on the stack and copied once into the name: one allocation at most, none
        // for a name of 15 bytes or fewer. Escapes make at most four bytes of one, so 1,024 fit any name.
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) {
            (text: UnsafeMutableBufferPointer<UInt8>) throws(DecodingError) -> DNSQuestion in
            var count = 0
            var wireLength = 1
            var index = bytes.startIndex
            while true {
                guard index != bytes.endIndex else { throw DecodingError(reason: .truncated) }
                let length = Int(bytes[index])
                index = bytes.index(after: index)
                if length == 0 { break }
                switch length & 0xc0 {
                case 0xc0: throw DecodingError(reason: .compressionPointer)
                case 0x40, 0x80: throw DecodingError(reason: .reservedLabelType)
                default: break
                }
                guard length <= 63 else { throw DecodingError(reason: .labelTooLong) }
                wireLength += length + 1
                guard wireLength <= 255 else { throw DecodingError(reason: .nameTooLong) }
                guard bytes.distance(from: index, to: bytes.endIndex) >= length else {
                    throw DecodingError(reason: .truncated)
                }
                let end = bytes.index(index, offsetBy: length)
                if count != 0 {
                    text[count] = UInt8(ascii: ".")
                    count += 1
                }
                for byte in bytes[index..<end] {
                    appendEscaped(byte) {
                        text[count] = $0
                        count += 1
                    }
                }
                index = end
            }
            guard bytes.distance(from: index, to: bytes.endIndex) >= 2 else {
                throw DecodingError(reason: .truncated)
            }
            let type = DNSQueryType(rawValue: UInt16(bytes[index]) << 8 | UInt16(bytes[bytes.index(after: index)]))
            let name = count == 0 ? "." : String(decoding: UnsafeBufferPointer(rebasing: text[..<count]), as: UTF8.self)
            return DNSQuestion(name: name, type: type)
        }
    }

    /// A label byte as text; dots inside a label and bytes that are not printable ASCII are
    /// escaped the way dig prints them (RFC 4343 2.1).
    @inlinable
    static func appendEscaped(_ byte: UInt8, _ append: (UInt8) -> Void) {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "\\"):
            append(UInt8(ascii: "\\"))
            append(byte)
        case 0x21...0x7e:
            append(byte)
        default:
            append(UInt8(ascii: "\\"))
            append(UInt8(ascii: "0") + byte / 100)
            append(UInt8(ascii: "0") + byte / 10 % 10)
            append(UInt8(ascii: "0") + byte % 10)
        }
    }
}
