/// DNS response codes (RFC 1035, RFC 6895) by the names NetObserv uses.
public enum DNSResponseCode {
    private static let names = [
        "NoError", "FormErr", "ServFail", "NXDomain", "NotImp", "Refused", "YXDomain", "YXRRSet",
        "NXRRSet", "NotAuth", "NotZone",
    ]

    public static func name(_ rcode: UInt8) -> String {
        Int(rcode) < names.count ? names[Int(rcode)] : "RCode\(rcode)"
    }

    /// The rcode number for a name (case-insensitive), or a plain number.
    public static func code(_ name: String) -> UInt8? {
        if let n = UInt8(name) { return n }
        if let i = names.firstIndex(where: { $0.lowercased() == name.lowercased() }) { return UInt8(i) }
        if name.hasPrefix("RCode") { return UInt8(name.dropFirst(5)) }
        return nil
    }
}

/// DNS query types by mnemonic (IANA "Resource Record (RR) TYPEs").
public enum DNSQueryType {
    private static let names: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA",
        33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
        50: "NSEC3", 52: "TLSA", 64: "SVCB", 65: "HTTPS", 99: "SPF", 252: "AXFR", 255: "ANY", 257: "CAA",
    ]

    public static func name(_ qtype: UInt16) -> String { names[qtype] ?? "TYPE\(qtype)" }

    public static func code(_ name: String) -> UInt16? {
        if let hit = names.first(where: { $0.value.lowercased() == name.lowercased() }) { return hit.key }
        if name.uppercased().hasPrefix("TYPE") { return UInt16(name.dropFirst(4)) }
        return nil
    }
}
