/// A DNS response code (RFC 1035, RFC 6895): a number, named only where text is made.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The low four bits of a DNS header's flags word.
    public init(flags: UInt16) { rawValue = UInt8(flags & 0x0f) }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    public static let nameError = DNSResponseCode(rawValue: 3)

    // The names NetObserv uses.
    private static let names = [
        "NoError", "FormErr", "ServFail", "NXDomain", "NotImp", "Refused", "YXDomain", "YXRRSet",
        "NXRRSet", "NotAuth", "NotZone",
    ]

    /// "NoError", "NXDomain", ..., "RCode<n>" past the named ones.
    public var name: String {
        Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : "RCode\(rawValue)"
    }

    public var description: String { name }

    /// A name (case-insensitive), "RCode<n>", or a plain number.
    public init?(name: String) {
        if let number = UInt8(name) {
            rawValue = number
        } else if let index = Self.names.firstIndex(where: { $0.lowercased() == name.lowercased() }) {
            rawValue = UInt8(index)
        } else if name.hasPrefix("RCode"), let number = UInt8(name.dropFirst(5)) {
            rawValue = number
        } else {
            return nil
        }
    }
}

/// A DNS query type (IANA "Resource Record (RR) TYPEs"): a number, named only where text is made.
public struct DNSQueryType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSQueryType(rawValue: 1)
    public static let aaaa = DNSQueryType(rawValue: 28)

    private static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA",
        33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
        50: "NSEC3", 52: "TLSA", 64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY", 257: "CAA",
    ]
    private static let numbers = Dictionary(uniqueKeysWithValues: names.map { ($0.value, $0.key) })

    /// The mnemonic ("A", "AAAA", ...), or "TYPE<n>" (RFC 3597) for the others.
    public var name: String { Self.names[rawValue] ?? "TYPE\(rawValue)" }

    public var description: String { name }

    /// A mnemonic (case-insensitive) or "TYPE<n>".
    public init?(name: String) {
        if let number = Self.numbers[name] ?? Self.numbers[name.uppercased()] {
            rawValue = number
        } else if name.uppercased().hasPrefix("TYPE"), let number = UInt16(name.dropFirst(4)) {
            rawValue = number
        } else {
            return nil
        }
    }
}

/// Literals name codes in tests and configs; a literal that names none is a programming error.
extension DNSResponseCode: ExpressibleByStringLiteral {
    public init(stringLiteral name: String) {
        guard let code = DNSResponseCode(name: name) else { preconditionFailure("no DNS response code \(name)") }
        self = code
    }
}

extension DNSQueryType: ExpressibleByStringLiteral {
    public init(stringLiteral name: String) {
        guard let type = DNSQueryType(name: name) else { preconditionFailure("no DNS query type \(name)") }
        self = type
    }
}
