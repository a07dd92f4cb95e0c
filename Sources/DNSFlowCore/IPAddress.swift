/// An IPv4 or IPv6 address as the kernel side stores it: 16 bytes, IPv4 v4-mapped.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(bytes: some Collection<UInt8>) {
        precondition(bytes.count == 16, "an IPAddress is 16 bytes")
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        self.high = high
        self.low = low
    }

    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        high = 0
        low = 0xffff_0000_0000 | UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d)
    }

    public var isIPv4: Bool { high == 0 && low >> 32 == 0xffff }

    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high >> (56 - 8 * i) : low >> (56 - 8 * (i - 8)))) }
    }

    /// Dotted quad for IPv4, RFC 5952 text for IPv6.
    public var description: String {
        if isIPv4 {
            return [24, 16, 8, 0].map { String(UInt8(truncatingIfNeeded: low >> $0)) }.joined(separator: ".")
        }
        let words = (0..<8).map { i in UInt16(truncatingIfNeeded: (i < 4 ? high >> (48 - 16 * i) : low >> (48 - 16 * (i - 4)))) }
        // The longest run of two or more zero words becomes "::" (RFC 5952 4.2).
        var best = (start: -1, length: 0)
        var run = (start: -1, length: 0)
        for (i, w) in words.enumerated() {
            if w == 0 {
                run = run.start < 0 ? (i, 1) : (run.start, run.length + 1)
                if run.length > best.length { best = run }
            } else {
                run = (-1, 0)
            }
        }
        let hex = words.map { String($0, radix: 16) }
        guard best.length >= 2 else { return hex.joined(separator: ":") }
        let head = hex[..<best.start].joined(separator: ":")
        let tail = hex[(best.start + best.length)...].joined(separator: ":")
        return head + "::" + tail
    }
}
