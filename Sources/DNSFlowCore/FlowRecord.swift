/// One exported record, the fields of NetObserv's flowlogs-pipeline records, typed: text (JSON
/// keys, dotted addresses, rcode names) is made only by the codecs, the page and the CLI.
///
/// A `flow` carries a 5-tuple's counters. A `dnsTransaction` is one lookup as the node saw it:
/// the client's 5-tuple, every namespace it crossed as `dnsStages`, its own packets' counters, what
/// it answered and who asked. `FlowField` lists the fields as they go on the wire.
public struct FlowRecord: Sendable, Hashable {
    public var recordType: RecordType
    public var srcAddr: IPAddress
    public var dstAddr: IPAddress
    public var srcPort: UInt16
    public var dstPort: UInt16
    /// A transaction's server after translation (DNAT), when a stage saw another destination.
    public var xlatDstAddr: IPAddress?
    public var xlatDstPort: UInt16?
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
    /// Inode number of the network namespace the record was seen in (a transaction's client's).
    public var netNs: UInt32
    /// The namespace's `ip netns` or container name; filled by the agent's enrichment.
    public var netNsName: String?
    public var nodeName: String

    public var dnsId: UInt16?
    public var dnsFlags: UInt16?
    /// The response's code; absent on query-side records and timeouts.
    public var dnsFlagsResponseCode: DNSResponseCode?
    /// Query to response in nanoseconds; absent on timeouts and orphan responses.
    public var dnsLatencyNs: UInt64?
    /// Full name, no trailing dot.
    public var dnsName: String?
    public var dnsQType: DNSQueryType?
    /// 0, or 110 (ETIMEDOUT) for an unanswered query, 2 (ENOENT) for a response with no query.
    public var dnsErrno: UInt8?
    /// A transaction's pairings, from the client inward; empty on flows.
    public var dnsStages: [DNSStage] = []
    /// Queries seen again with the same id before the answer.
    public var dnsRetransmits: UInt16?
    /// What the response answered; nil on flows, timeouts, and when `dnsTracking.answers` is off.
    public var dnsAnswers: DNSAnswers?
    /// Who asked, when the query left a socket on this node.
    public var requester: Requester?
    /// On a flow: the name its client resolved its destination from, within the answer's TTL.
    public var dstDnsName: String?
    /// The Kubernetes objects of the source, the destination (a Service for a ClusterIP) and a
    /// transaction's server after translation; filled by the agent's enrichment.
    public var srcK8S: KubernetesObject?
    public var dstK8S: KubernetesObject?
    public var xlatDstK8S: KubernetesObject?

    // DNS health (`SearchExpansionGrouper`, `RetryLinker`, `TunnelDetector`).
    /// A resolution's name as the process asked for it, before the search list.
    public var dnsBaseName: String?
    /// A resolution's transactions, first sent first.
    public var dnsTries: [DNSTry] = []
    /// A resolution's tries of names other than the answered one (every try when none answered).
    public var dnsWastedQueries: UInt16?
    /// From a resolution's first try to the first try of the answered name.
    public var dnsWastedNs: UInt64?
    public var dnsSearchFix: SearchPathFix?
    /// A resolution's tries that timed out or were asked again.
    public var dnsTimeouts: UInt16?
    /// The id of the unanswered (or dropped) query this one asked again.
    public var dnsRetryOf: UInt16?
    /// From that query to this one.
    public var dnsRetryGapNs: UInt64?
    /// On a `dnsAlert`: what the client did.
    public var dnsAlertReason: String?
    /// Why the kernel dropped a packet of this transaction (`DropLinker`): `enum skb_drop_reason`'s name.
    public var dnsDropReason: String?

    /// The server's side of a lookup, by a resolver on the node: whether it answered from its cache
    /// (nil where that is not known), the upstream queries it sent meanwhile, and on an upstream
    /// query the client lookups it served.
    public var dnsCacheHit: Bool?
    public var dnsUpstream: [DNSLinkedLookup] = []
    public var dnsServes: [DNSLinkedLookup] = []
    public var dnsServerSource: DNSServerSource?

    public init(
        recordType: RecordType = .flow,
        srcAddr: IPAddress, dstAddr: IPAddress, srcPort: UInt16, dstPort: UInt16, proto: UInt8, etype: UInt16,
        bytes: UInt64, packets: UInt64, timeFlowStartMs: Int64, timeFlowEndMs: Int64,
        interfaces: [String], ifDirections: [UInt8], flags: UInt16, netNs: UInt32, nodeName: String,
        dnsId: UInt16? = nil, dnsFlags: UInt16? = nil, dnsFlagsResponseCode: DNSResponseCode? = nil,
        dnsLatencyNs: UInt64? = nil, dnsName: String? = nil, dnsQType: DNSQueryType? = nil, dnsErrno: UInt8? = nil
    ) {
        self.recordType = recordType
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
        self.dnsLatencyNs = dnsLatencyNs
        self.dnsName = dnsName
        self.dnsQType = dnsQType
        self.dnsErrno = dnsErrno
    }

    /// A record with every required field zero or empty, for decoders to fill in.
    public static let empty = FlowRecord(
        srcAddr: .v4(0), dstAddr: .v4(0), srcPort: 0, dstPort: 0, proto: 0, etype: 0, bytes: 0, packets: 0,
        timeFlowStartMs: 0, timeFlowEndMs: 0, interfaces: [], ifDirections: [], flags: 0, netNs: 0, nodeName: ""
    )

    /// True when the record carries DNS fields.
    public var isDNS: Bool { dnsId != nil }

    /// True for a DNS transaction's record.
    public var isTransaction: Bool { recordType == .dnsTransaction }

    /// The latency in milliseconds, for thresholds and display.
    public var dnsLatencyMs: Double? { dnsLatencyNs.map { Double($0) / 1e6 } }
}

/// Well-known `DnsErrno` values.
public enum DNSErrno {
    public static let none: UInt8 = 0
    /// A response with no query seen.
    public static let noQuery: UInt8 = 2
    /// A query with no response within the timeout.
    public static let timedOut: UInt8 = 110
}
