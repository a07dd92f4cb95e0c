/// Another lookup a transaction is linked to through a resolver: an upstream query the resolver sent
/// while the client waited (`DnsUpstream`), or the client lookup an upstream query served (`DnsServes`).
public struct DNSLinkedLookup: Hashable, Sendable {
    /// The upstream server, or the client served.
    public var addr: IPAddress
    public var port: UInt16
    public var dnsId: UInt16
    /// An upstream's own wait; nil on the clients served and on an upstream that got no answer.
    public var latencyNs: UInt64?
    public var rcode: DNSResponseCode?

    public init(addr: IPAddress, port: UInt16, dnsId: UInt16, latencyNs: UInt64? = nil, rcode: DNSResponseCode? = nil) {
        self.addr = addr
        self.port = port
        self.dnsId = dnsId
        self.latencyNs = latencyNs
        self.rcode = rcode
    }
}

/// Where a record's server-side fields (`DnsCacheHit`, `DnsUpstream`, `DnsServes`) came from.
public enum DNSServerSource: UInt8, Sendable, Hashable, CaseIterable {
    /// Linked from the packets the node carried (`UpstreamLinker`).
    case packets = 1
    /// Told by the server itself over dnstap.
    case dnstap = 2

    /// The JSON value of `DnsServerSource`.
    public var name: String {
        switch self {
        case .packets: "packets"
        case .dnstap: "dnstap"
        }
    }

    public init?(name: String) {
        guard let source = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = source
    }
}

extension FlowRecord {
    /// A lookup only a server's dnstap told of: no packet of it was seen on this node (`DnstapJoiner.expire`).
    public var isDnstapOnly: Bool { isTransaction && dnsStages.isEmpty && dnsServerSource == .dnstap }
}
