/// One exported flow record, in the JSON shape of NetObserv's flowlogs-pipeline.
///
/// A plain flow carries the counters; a DNS view also carries the `dns*` fields. Every DNS
/// transaction is its own record, so several transactions on one 5-tuple all come out.
public struct FlowRecord: Codable, Sendable, Hashable {
    public var srcAddr: String
    public var dstAddr: String
    public var srcPort: UInt16
    public var dstPort: UInt16
    /// IANA protocol number (6 TCP, 17 UDP).
    public var proto: UInt8
    /// Ethernet type: 0x0800 IPv4, 0x86DD IPv6.
    public var etype: UInt16
    public var bytes: UInt64
    public var packets: UInt64
    /// Epoch milliseconds.
    public var timeFlowStartMs: Int64
    public var timeFlowEndMs: Int64
    /// Names of the interfaces the flow was seen on, first sighting first.
    public var interfaces: [String]
    /// One per interface: 0 ingress, 1 egress.
    public var ifDirections: [UInt8]
    /// TCP flags seen on the flow, OR-ed.
    public var flags: UInt16
    /// Inode number of the network namespace the record was seen in.
    public var netNs: UInt32
    public var nodeName: String

    public var dnsId: UInt16?
    public var dnsFlags: UInt16?
    /// "NoError", "NXDomain", ... (see `DNSResponseCode`).
    public var dnsFlagsResponseCode: String?
    /// Query to response, with microsecond precision; absent on timeouts and orphan responses.
    public var dnsLatencyMs: Double?
    /// Full name, no trailing dot.
    public var dnsName: String?
    /// "A", "AAAA", ... or "TYPE<n>".
    public var dnsQType: String?
    /// 0, or 110 (ETIMEDOUT) for an unanswered query, 2 (ENOENT) for a response with no query.
    public var dnsErrno: UInt8?

    public init(
        srcAddr: String, dstAddr: String, srcPort: UInt16, dstPort: UInt16, proto: UInt8, etype: UInt16,
        bytes: UInt64, packets: UInt64, timeFlowStartMs: Int64, timeFlowEndMs: Int64,
        interfaces: [String], ifDirections: [UInt8], flags: UInt16, netNs: UInt32, nodeName: String,
        dnsId: UInt16? = nil, dnsFlags: UInt16? = nil, dnsFlagsResponseCode: String? = nil,
        dnsLatencyMs: Double? = nil, dnsName: String? = nil, dnsQType: String? = nil, dnsErrno: UInt8? = nil
    ) {
        self.srcAddr = srcAddr
        self.dstAddr = dstAddr
        self.srcPort = srcPort
        self.dstPort = dstPort
        self.proto = proto
        self.etype = etype
        self.bytes = bytes
        self.packets = packets
        self.timeFlowStartMs = timeFlowStartMs
        self.timeFlowEndMs = timeFlowEndMs
        self.interfaces = interfaces
        self.ifDirections = ifDirections
        self.flags = flags
        self.netNs = netNs
        self.nodeName = nodeName
        self.dnsId = dnsId
        self.dnsFlags = dnsFlags
        self.dnsFlagsResponseCode = dnsFlagsResponseCode
        self.dnsLatencyMs = dnsLatencyMs
        self.dnsName = dnsName
        self.dnsQType = dnsQType
        self.dnsErrno = dnsErrno
    }

    /// True when the record carries DNS fields.
    public var isDNS: Bool { dnsId != nil }

    public enum CodingKeys: String, CodingKey {
        case srcAddr = "SrcAddr"
        case dstAddr = "DstAddr"
        case srcPort = "SrcPort"
        case dstPort = "DstPort"
        case proto = "Proto"
        case etype = "Etype"
        case bytes = "Bytes"
        case packets = "Packets"
        case timeFlowStartMs = "TimeFlowStartMs"
        case timeFlowEndMs = "TimeFlowEndMs"
        case interfaces = "Interfaces"
        case ifDirections = "IfDirections"
        case flags = "Flags"
        case netNs = "NetNs"
        case nodeName = "NodeName"
        case dnsId = "DnsId"
        case dnsFlags = "DnsFlags"
        case dnsFlagsResponseCode = "DnsFlagsResponseCode"
        case dnsLatencyMs = "DnsLatencyMs"
        case dnsName = "DnsName"
        case dnsQType = "DnsQType"
        case dnsErrno = "DnsErrno"
    }
}

/// Well-known `DnsErrno` values.
public enum DNSErrno {
    public static let none: UInt8 = 0
    /// A response with no query seen.
    public static let noQuery: UInt8 = 2
    /// A query with no response within the timeout.
    public static let timedOut: UInt8 = 110
}
