/// An IP address in network byte order. Text is parsed and written only at the edges (JSON, the
/// API, the CLI); hand-written instead of `inet_pton` so the module stays pure Swift and the JSON
/// writer allocates nothing.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self = .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
    }

    /// The kernel side's 16 bytes: IPv4 stored v4-mapped (::ffff:a.b.c.d), told apart by the
    /// packet's ethernet type rather than the prefix, so a real IPv6 ::ffff: address stays IPv6.
    /// Inlinable: the map and ring-buffer readers call it for every record.
    @inlinable
    public init(kernelBytes bytes: some Collection<UInt8>, ipv4: Bool) {
        precondition(bytes.count == 16, "the kernel stores 16 bytes per address")
        var high: UInt64 = 0
        var low: UInt64 = 0
        var i = 0
        for b in bytes {
            if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
            i += 1
        }
        self = ipv4 ? .v4(UInt32(truncatingIfNeeded: low)) : .v6(high: high, low: low)
    }

    public var isIPv4: Bool {
        if case .v4 = self { return true }
        return false
    }

    public var description: String { text }

    public init?(_ text: String) {
        let parsed = text.utf8.withContiguousStorageIfAvailable { Self.parse($0) } ?? Self.parse(Array(text.utf8))
        guard let parsed else { return nil }
        self = parsed
    }

    /// From text as UTF-8 bytes, without making a String.
    public init?<Bytes: RandomAccessCollection<UInt8>>(utf8: Bytes) where Bytes.Index == Int {
        guard let parsed = Self.parse(utf8) else { return nil }
        self = parsed
    }

    private static func parse<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> IPAddress?
    where Bytes.Index == Int {
        if bytes.contains(UInt8(ascii: ":")) {
            return parseIPv6(bytes).map { .v6(high: $0.high, low: $0.low) }
        }
        return parseIPv4(bytes).map { .v4($0) }
    }

    private static func parseIPv4(_ bytes: some Collection<UInt8>) -> UInt32? {
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var dots = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | octet
                (octet, digits, dots) = (0, 0, dots + 1)
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
                digits += 1
                guard digits <= 3, octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, dots == 3 else { return nil }
        return value << 8 | octet
    }

    private static func hexValue(_ byte: UInt8) -> UInt16? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt16(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt16(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt16(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// RFC 4291 section 2.2 text forms: groups, one "::", and an optional dotted IPv4 tail.
    /// Groups before and after the "::" are shifted into two 128-bit accumulators, joined at the end.
    private static func parseIPv6<Bytes: RandomAccessCollection<UInt8>>(
        _ b: Bytes
    ) -> (high: UInt64, low: UInt64)? where Bytes.Index == Int {
        let colon = UInt8(ascii: ":")
        var head = Groups()
        var tail = Groups()
        var gap = false
        var i = b.startIndex
        if b.count >= 2, b[i] == colon, b[i + 1] == colon {
            gap = true
            i += 2
        }
        while i < b.endIndex {
            let start = i
            var group: UInt16 = 0
            while i < b.endIndex, i - start < 4, let digit = hexValue(b[i]) {
                group = group << 4 | digit
                i += 1
            }
            if i < b.endIndex, b[i] == UInt8(ascii: ".") {
                guard head.count + tail.count <= 6, let v4 = parseIPv4(b[start...]) else { return nil }
                if gap {
                    tail.append(UInt16(v4 >> 16))
                    tail.append(UInt16(v4 & 0xFFFF))
                } else {
                    head.append(UInt16(v4 >> 16))
                    head.append(UInt16(v4 & 0xFFFF))
                }
                break
            }
            guard i > start, head.count + tail.count < 8 else { return nil }
            if gap { tail.append(group) } else { head.append(group) }
            if i == b.endIndex { break }
            guard b[i] == colon, i + 1 < b.endIndex else { return nil }
            i += 1
            if b[i] == colon {
                guard !gap else { return nil }
                gap = true
                i += 1
            }
        }
        guard gap ? head.count + tail.count < 8 : head.count == 8 else { return nil }
        head.shiftLeft(groups: 8 - head.count)
        return (head.high | tail.high, head.low | tail.low)
    }

    /// Up to eight 16-bit groups in a 128-bit register, last appended lowest.
    private struct Groups {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var count = 0

        mutating func append(_ group: UInt16) {
            high = high << 16 | low >> 48
            low = low << 16 | UInt64(group)
            count += 1
        }

        mutating func shiftLeft(groups: Int) {
            let bits = groups * 16
            if bits >= 64 {
                high = low << (bits - 64)
                low = 0
            } else if bits > 0 {
                high = high << bits | low >> (64 - bits)
                low <<= bits
            }
        }
    }

    /// The most bytes `write(to:)` writes: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
    public static let maxTextLength = 45

    /// RFC 5952 text, as glibc's `inet_ntop` writes it (including "::ffff:a.b.c.d").
    public var text: String {
        String(unsafeUninitializedCapacity: Self.maxTextLength) { write(to: $0.baseAddress!) }
    }

    /// Writes the text form to `out`, which has room for `maxTextLength` bytes; returns the bytes
    /// written. The JSON writer formats every record's addresses this way, without a String.
    public func write(to out: UnsafeMutablePointer<UInt8>) -> Int {
        switch self {
        case .v4(let value): return Self.writeDotted(value, to: out)
        case .v6(let high, let low):
            func group(_ k: Int) -> UInt16 { UInt16(truncatingIfNeeded: (k < 4 ? high : low) >> (48 - 16 * (k % 4))) }
            // The longest run of two or more zero groups, the first of equals, becomes "::".
            var best = (start: -1, count: 0)
            var run = (start: -1, count: 0)
            for k in 0..<8 {
                if group(k) == 0 {
                    run = run.start < 0 ? (k, 1) : (run.start, run.count + 1)
                    if run.count > best.count { best = run }
                } else {
                    run = (-1, 0)
                }
            }
            if best.count < 2 { best = (-1, 0) }
            let embedsIPv4 = best.start == 0 && (best.count == 6 || (best.count == 5 && group(5) == 0xFFFF))
            var n = 0
            var k = 0
            while k < 8 {
                if k == best.start {
                    out[n] = UInt8(ascii: ":")
                    out[n + 1] = UInt8(ascii: ":")
                    n += 2
                    k += best.count
                    continue
                }
                if n > 0 && out[n - 1] != UInt8(ascii: ":") {
                    out[n] = UInt8(ascii: ":")
                    n += 1
                }
                if k == 6 && embedsIPv4 { return n + Self.writeDotted(UInt32(truncatingIfNeeded: low), to: out + n) }
                n += Self.writeHex(group(k), to: out + n)
                k += 1
            }
            return n
        }
    }

    private static func writeDotted(_ value: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        for shift in stride(from: 24, through: 0, by: -8) {
            if shift != 24 {
                out[n] = UInt8(ascii: ".")
                n += 1
            }
            // Four bytes stored, the octet's digits first: what follows overwrites the rest, and a
            // dotted address (15 bytes at most) leaves room within `maxTextLength`.
            let digits = octetDigits[Int(truncatingIfNeeded: value >> UInt32(shift)) & 0xFF]
            UnsafeMutableRawPointer(out + n).storeBytes(of: digits.littleEndian, as: UInt32.self)
            n += Int(digits >> 24)
        }
        return n
    }

    /// Each octet's decimal digits as ASCII in the low three bytes, first digit lowest, and their
    /// count in the top byte: one load and one store per octet instead of two divisions.
    private static let octetDigits: [UInt32] = (0...255).map { (octet: Int) -> UInt32 in
        let text = Array(String(octet).utf8)
        return text.enumerated().reduce(UInt32(text.count) << 24) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    /// Lower-case hex without leading zeros.
    private static func writeHex(_ group: UInt16, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let digits = max(1, (16 - group.leadingZeroBitCount + 3) / 4)
        for place in 0..<digits {
            let nibble = UInt8(truncatingIfNeeded: group >> UInt16(4 * (digits - 1 - place))) & 0xF
            out[place] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
        }
        return digits
    }

    /// Network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        append(to: &out)
        return out
    }

    /// Appends `bytes` without an array of their own.
    public func append(to out: inout [UInt8]) {
        switch self {
        case .v4(let value): for k in 0..<4 { out.append(UInt8(truncatingIfNeeded: value >> (24 - 8 * k))) }
        case .v6(let high, let low):
            for k in 0..<16 { out.append(UInt8(truncatingIfNeeded: (k < 8 ? high : low) >> (56 - 8 * (k % 8)))) }
        }
    }

    /// From network byte order: 4 bytes are IPv4, 16 IPv6, any other count nil.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        self = bytes.count == 4 ? .v4(UInt32(truncatingIfNeeded: high)) : .v6(high: high, low: low)
    }
}

/// Literals name addresses in tests and configs; a literal that is no address is a programming error.
extension IPAddress: ExpressibleByStringLiteral {
    public init(stringLiteral text: String) {
        guard let address = IPAddress(text) else { preconditionFailure("not an IP address: \(text)") }
        self = address
    }
}
