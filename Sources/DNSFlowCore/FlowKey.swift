/// One direction of a conversation.
public struct FlowKey: Hashable, Sendable {
    public var srcAddr: IPAddress
    public var dstAddr: IPAddress
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var proto: UInt8
    public var etype: UInt16

    public init(srcAddr: IPAddress, dstAddr: IPAddress, srcPort: UInt16, dstPort: UInt16, proto: UInt8, etype: UInt16) {
        self.srcAddr = srcAddr
        self.dstAddr = dstAddr
        self.srcPort = srcPort
        self.dstPort = dstPort
        self.proto = proto
        self.etype = etype
    }

    /// The other direction of the same conversation.
    public var reversed: FlowKey {
        FlowKey(srcAddr: dstAddr, dstAddr: srcAddr, srcPort: dstPort, dstPort: srcPort, proto: proto, etype: etype)
    }
}

/// Where a packet was seen: a network namespace, an interface in it, and a direction.
public struct Observation: Hashable, Sendable {
    public var netNs: UInt32
    public var interface: String
    /// 0 ingress, 1 egress.
    public var direction: UInt8

    public init(netNs: UInt32, interface: String, direction: UInt8) {
        self.netNs = netNs
        self.interface = interface
        self.direction = direction
    }
}

/// A flow as the kernel aggregated it over one eviction window. Times are epoch nanoseconds.
public struct FlowSample: Hashable, Sendable {
    public var key: FlowKey
    public var bytes: UInt64
    public var packets: UInt64
    public var startNs: Int64
    public var endNs: Int64
    public var tcpFlags: UInt16
    /// First sighting first; only that one's packets are counted.
    public var observations: [Observation]

    public init(
        key: FlowKey, bytes: UInt64, packets: UInt64, startNs: Int64, endNs: Int64, tcpFlags: UInt16,
        observations: [Observation]
    ) {
        self.key = key
        self.bytes = bytes
        self.packets = packets
        self.startNs = startNs
        self.endNs = endNs
        self.tcpFlags = tcpFlags
        self.observations = observations
    }
}

/// A DNS transaction as one network namespace saw it.
public struct DNSView: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// The response's first sighting in the namespace, `latencyNs` after the query's.
        case answered(latencyNs: UInt64)
        /// A response with no query seen.
        case orphan
        /// A query with no response within the timeout.
        case timedOut
    }

    public var outcome: Outcome
    /// The direction of the message that ended the wait: the response's, or for a timeout the query's.
    public var key: FlowKey
    public var observation: Observation
    public var id: UInt16
    /// The response's flags; the query's on a timeout.
    public var flags: UInt16
    /// Nil when the question could not be decoded.
    public var question: DNSQuestion?
    /// Epoch nanoseconds of the query (the response for an orphan) and of the response (the timeout).
    public var startNs: Int64
    public var endNs: Int64
    /// IP bytes of the query's and the response's packets (0 for the one not seen).
    public var queryBytes: UInt32 = 0
    public var responseBytes: UInt32 = 0
    /// Queries seen again on the query's interface and direction before the answer.
    public var retransmits: UInt16 = 0
    /// The answer section, decoded; nil when the kernel sent none (answers off, timeouts, orphans
    /// whose bytes did not decode).
    public var answers: DNSAnswers?
    /// Set where the query left a local socket in this namespace.
    public var requester: Requester?

    public init(
        outcome: Outcome, key: FlowKey, observation: Observation, id: UInt16, flags: UInt16, question: DNSQuestion?,
        startNs: Int64, endNs: Int64
    ) {
        self.outcome = outcome
        self.key = key
        self.observation = observation
        self.id = id
        self.flags = flags
        self.question = question
        self.startNs = startNs
        self.endNs = endNs
    }

    /// The DNS client's side of the conversation: where the query came from.
    public var queryKey: FlowKey { outcome == .timedOut ? key : key.reversed }
}
