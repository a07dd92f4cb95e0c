/// What a record is: NetObserv's flows, or one DNS lookup as the node saw it.
public enum RecordType: UInt8, Sendable, Hashable, CaseIterable {
    case flow = 0
    case dnsTransaction = 1
    /// One resolution the search list expanded into several transactions (`SearchExpansionGrouper`).
    case dnsResolution = 2
    /// A client `TunnelDetector` flagged: the client, the registered domain and the reason.
    case dnsAlert = 3

    /// The JSON value of `RecordType`.
    public var name: String {
        switch self {
        case .flow: "flow"
        case .dnsTransaction: "dnsTransaction"
        case .dnsResolution: "dnsResolution"
        case .dnsAlert: "dnsAlert"
        }
    }

    public init?(name: String) {
        guard let type = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = type
    }
}

/// One pairing a transaction made on the node: a namespace, and within it one 5-tuple the query
/// took (a router that translates has two, before and after).
public struct DNSStage: Hashable, Sendable {
    public var netNs: UInt32
    /// The `ip netns` name, or the container's; filled by the agent's enrichment.
    public var netNsName: String?
    /// The interface the response was first seen on here (the query's, on a timeout).
    public var interface: String
    /// The server this stage's query went to.
    public var serverAddr: IPAddress
    public var serverPort: UInt16
    /// Query to response here; nil when this stage saw no response (timeout) or no query (orphan).
    public var latencyNs: UInt64?

    public init(
        netNs: UInt32, netNsName: String? = nil, interface: String, serverAddr: IPAddress, serverPort: UInt16,
        latencyNs: UInt64?
    ) {
        self.netNs = netNs
        self.netNsName = netNsName
        self.interface = interface
        self.serverAddr = serverAddr
        self.serverPort = serverPort
        self.latencyNs = latencyNs
    }
}

/// What a response answered: the answer section's A and AAAA addresses, its CNAME chain, and
/// the smallest TTL among its records.
public struct DNSAnswers: Hashable, Sendable {
    public var addresses: [IPAddress]
    /// In the order the answer section lists them, no trailing dots.
    public var cnames: [String]
    /// Seconds; nil when the section has no records.
    public var ttl: UInt32?

    public init(addresses: [IPAddress] = [], cnames: [String] = [], ttl: UInt32? = nil) {
        self.addresses = addresses
        self.cnames = cnames
        self.ttl = ttl
    }

    public static let none = DNSAnswers()
}

/// Who sent a query: read in the sender's context, where the query left a socket on this node.
public struct Requester: Hashable, Sendable {
    /// The thread group id (the process id `ps` shows).
    public var pid: UInt32
    public var comm: String
    /// The cgroup v2 id (the inode of its directory in the v2 hierarchy).
    public var cgroupId: UInt64
    /// Parsed from the cgroup's path by the agent's enrichment.
    public var containerId: String?
    public var podUid: String?

    public init(pid: UInt32, comm: String, cgroupId: UInt64, containerId: String? = nil, podUid: String? = nil) {
        self.pid = pid
        self.comm = comm
        self.cgroupId = cgroupId
        self.containerId = containerId
        self.podUid = podUid
    }
}
