/// An IP address in network byte order, parsed from and formatted to the text `FlowRecord` carries.
/// Hand-written instead of `inet_pton` so the module stays pure Swift and the encoder allocates nothing.
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

    /// RFC 5952 text, as glibc's `inet_ntop` writes it (including "::ffff:a.b.c.d").
    public var text: String {
        switch self {
        case .v4(let value): return Self.dotted(value)
        case .v6(let high, let low):
            let groups = (0..<8).map { k in UInt16(truncatingIfNeeded: (k < 4 ? high : low) >> (48 - 16 * (k % 4))) }
            var best = (start: -1, count: 0)
            var run = (start: -1, count: 0)
            for (k, group) in groups.enumerated() {
                if group == 0 {
                    run = run.start < 0 ? (k, 1) : (run.start, run.count + 1)
                    if run.count > best.count { best = run }
                } else {
                    run = (-1, 0)
                }
            }
            if best.count < 2 { best = (-1, 0) }
            let embedsIPv4 = best.start == 0 && (best.count == 6 || (best.count == 5 && groups[5] == 0xFFFF))
            var out = ""
            var k = 0
            while k < 8 {
                if k == best.start {
                    out += "::"
                    k += best.count
                    continue
                }
                if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
                if k == 6 && embedsIPv4 {
                    out += Self.dotted(UInt32(truncatingIfNeeded: low))
                    break
                }
                out += String(groups[k], radix: 16)
                k += 1
            }
            return out
        }
    }

    private static func dotted(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}
