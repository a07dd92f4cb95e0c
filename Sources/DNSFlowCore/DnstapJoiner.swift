/// One dnstap message, typed: what a resolver logged of one DNS message it received or sent.
public struct DnstapEvent: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// CLIENT_QUERY, CLIENT_RESPONSE: between a client and this server.
        case clientQuery, clientResponse
        /// RESOLVER_* and FORWARDER_*: between this server and its upstream.
        case upstreamQuery, upstreamResponse
    }

    public var kind: Kind
    /// The connection it came on: several resolvers may send at once.
    public var sender: UInt64
    /// IANA protocol number (17 UDP, 6 TCP).
    public var proto: UInt8
    /// The side that sent the query, and the side that answers it.
    public var queryAddr: IPAddress
    public var queryPort: UInt16
    public var responseAddr: IPAddress
    public var responsePort: UInt16
    public var id: UInt16
    public var question: DNSQuestion?
    /// A response's code.
    public var rcode: DNSResponseCode?
    /// The DNS header's flags.
    public var flags: UInt16?
    /// A response's A, AAAA and CNAME records, when the server logged the message.
    public var answers: DNSAnswers?
    /// Epoch nanoseconds: the query's for a query; for a response, when it was sent or received.
    public var timeNs: Int64
    /// A response's query time, when the server logged it with the response.
    public var queryTimeNs: Int64?

    public init(
        kind: Kind, sender: UInt64, proto: UInt8, queryAddr: IPAddress, queryPort: UInt16, responseAddr: IPAddress,
        responsePort: UInt16, id: UInt16, question: DNSQuestion?, rcode: DNSResponseCode? = nil, timeNs: Int64,
        queryTimeNs: Int64? = nil, flags: UInt16? = nil, answers: DNSAnswers? = nil
    ) {
        self.kind = kind
        self.sender = sender
        self.proto = proto
        self.queryAddr = queryAddr
        self.queryPort = queryPort
        self.responseAddr = responseAddr
        self.responsePort = responsePort
        self.id = id
        self.question = question
        self.rcode = rcode
        self.timeNs = timeNs
        self.queryTimeNs = queryTimeNs
        self.flags = flags
        self.answers = answers
    }
}

/// Joins resolvers' dnstap messages with the node's transaction records: a client lookup by (client
/// address, port, protocol, id); the upstream queries the same resolver sent for the same question
/// during the client's wait become its `DnsUpstream`, with their own latency, and none is a cache hit.
/// An upstream query's own record (from packets) gets the client lookups it served as `DnsServes`.
///
/// Messages wait `window` of the agent's time (`nowNs`, injected) for the records of the next windows
/// (a record may be held back past them), at most `capacity` of each kind. A client lookup no record
/// named by then (its client is off this node, or its packets were not watched) becomes a record of
/// its own, from dnstap alone (`expire`).
public struct DnstapJoiner: Sendable {
    private struct LookupKey: Hashable {
        var addr: IPAddress
        var port: UInt16
        var proto: UInt8
        var id: UInt16
    }

    /// A query and its response, as far as seen.
    private struct Lookup {
        var sender: UInt64
        var proto: UInt8
        var question: DNSQuestion?
        var queryNs: Int64?
        var responseNs: Int64?
        var rcode: DNSResponseCode?
        var flags: UInt16?
        var answers: DNSAnswers?
        var server: IPAddress
        var serverPort: UInt16
        var client: IPAddress
        var clientPort: UInt16
        var id: UInt16
        /// The agent's time of the last message.
        var arrivedNs: Int64
    }

    /// What `expire` let go.
    public struct Expired: Sendable {
        /// The client lookups no record named, answered, as records of their own.
        public var records: [FlowRecord] = []
        /// The client queries no response followed.
        public var unanswered = 0

        public init() {}
    }

    private var clients: [LookupKey: Lookup] = [:]
    private var upstreams: [LookupKey: Lookup] = [:]
    private let windowNs: Int64
    private let capacity: Int

    public init(window: Duration = .seconds(10), capacity: Int = 65_536) {
        windowNs = window.components.seconds * 1_000_000_000 + window.components.attoseconds / 1_000_000_000
        self.capacity = capacity
    }

    /// Messages held for the records to come.
    public var heldCount: Int { clients.count + upstreams.count }

    /// Holds `events`, received at `nowNs`; returns how many of them a full joiner dropped.
    @discardableResult
    public mutating func add(_ events: [DnstapEvent], nowNs: Int64) -> Int {
        var dropped = 0
        for event in events {
            let key = LookupKey(addr: event.queryAddr, port: event.queryPort, proto: event.proto, id: event.id)
            switch event.kind {
            case .clientQuery, .clientResponse:
                guard clients[key] != nil || clients.count < capacity else {
                    dropped += 1
                    continue
                }
                Self.merge(event, at: nowNs, into: &clients[key])
            case .upstreamQuery, .upstreamResponse:
                guard upstreams[key] != nil || upstreams.count < capacity else {
                    dropped += 1
                    continue
                }
                Self.merge(event, at: nowNs, into: &upstreams[key])
            }
        }
        return dropped
    }

    private static func merge(_ event: DnstapEvent, at nowNs: Int64, into lookup: inout Lookup?) {
        var merged =
            lookup
            ?? Lookup(
                sender: event.sender, proto: event.proto, question: event.question, server: event.responseAddr,
                serverPort: event.responsePort, client: event.queryAddr, clientPort: event.queryPort, id: event.id,
                arrivedNs: nowNs)
        merged.question = merged.question ?? event.question
        merged.arrivedNs = nowNs
        switch event.kind {
        case .clientQuery, .upstreamQuery:
            merged.queryNs = event.timeNs
            merged.flags = merged.flags ?? event.flags
        case .clientResponse, .upstreamResponse:
            merged.responseNs = event.timeNs
            merged.rcode = event.rcode
            merged.flags = event.flags
            merged.answers = event.answers
            if merged.queryNs == nil { merged.queryNs = event.queryTimeNs }
        }
        lookup = merged
    }

    /// Sets the server side of every transaction record a message names, of those `admitted`; those
    /// records' messages are then let go.
    public mutating func annotate(
        _ records: inout ArraySlice<FlowRecord>, admitted: (FlowRecord) -> Bool = { _ in true }
    ) {
        guard !clients.isEmpty || !upstreams.isEmpty else { return }
        var answered: [LookupKey] = []
        for index in records.indices where records[index].isTransaction && admitted(records[index]) {
            guard let id = records[index].dnsId else { continue }
            let key = LookupKey(
                addr: records[index].srcAddr, port: records[index].srcPort, proto: records[index].proto, id: id)
            if let client = clients[key], let responseNs = client.responseNs {
                // Without the query's time, the record's own wait.
                let queryNs =
                    client.queryNs ?? responseNs - Int64(clamping: records[index].dnsLatencyNs ?? 0) - 1_000_000
                serverSide(of: client, queryNs: queryNs, responseNs: responseNs, into: &records[index])
                answered.append(key)
            }
            // bind logs its upstream queries from the unspecified address its socket is bound to.
            var unspecified = key
            unspecified.addr = key.addr.isIPv4 ? .v4(0) : .v6(high: 0, low: 0)
            if let upstream = upstreams[key] ?? upstreams[unspecified], let sent = upstream.queryNs {
                let served = clients.values.filter {
                    guard $0.sender == upstream.sender, let asked = $0.queryNs else { return false }
                    return asked <= sent && sent <= ($0.responseNs ?? .max) && Self.same($0.question, upstream.question)
                }
                guard !served.isEmpty else { continue }
                records[index].dnsServes = served.map {
                    DNSLinkedLookup(addr: $0.client, port: $0.clientPort, dnsId: $0.id)
                }
                records[index].dnsServerSource = .dnstap
            }
        }
        for key in answered { clients[key] = nil }
    }

    /// `DnsCacheHit` and `DnsUpstream` of `client`'s lookup: the same sender's upstream queries for
    /// the same question sent during the client's wait.
    private func serverSide(of client: Lookup, queryNs: Int64, responseNs: Int64, into record: inout FlowRecord) {
        let upstream = upstreams.values.filter {
            guard $0.sender == client.sender, let sent = $0.queryNs else { return false }
            return (queryNs...responseNs).contains(sent) && Self.same($0.question, client.question)
        }
        .sorted { ($0.queryNs ?? 0) < ($1.queryNs ?? 0) }
        record.dnsCacheHit = upstream.isEmpty
        record.dnsUpstream = upstream.map { lookup in
            let latency = lookup.queryNs.flatMap { sent in lookup.responseNs.map { UInt64(max(0, $0 - sent)) } }
            return DNSLinkedLookup(
                addr: lookup.server, port: lookup.serverPort, dnsId: lookup.id, latencyNs: latency, rcode: lookup.rcode)
        }
        record.dnsServerSource = .dnstap
    }

    /// Lets go of the messages that waited `window` by `nowNs` (all of them when nil, the last
    /// window): a client lookup with its response becomes a record of `nodeName`'s from dnstap alone.
    public mutating func expire(nowNs: Int64?, nodeName: String) -> Expired {
        var expired = Expired()
        let oldest = nowNs.map { $0 - windowNs } ?? .max
        for (key, client) in clients where client.arrivedNs < oldest {
            clients[key] = nil
            if let record = record(of: client, nodeName: nodeName) {
                expired.records.append(record)
            } else {
                expired.unanswered += 1
            }
        }
        expired.records.sort { $0.timeFlowEndMs < $1.timeFlowEndMs }
        upstreams = upstreams.filter { $0.value.arrivedNs >= oldest }
        return expired
    }

    /// A transaction record from the server's word alone: no stage, no interface, no packet counted.
    private func record(of client: Lookup, nodeName: String) -> FlowRecord? {
        guard let responseNs = client.responseNs else { return nil }
        let queryNs = client.queryNs ?? responseNs
        var record = FlowRecord(
            recordType: .dnsTransaction, srcAddr: client.client, dstAddr: client.server, srcPort: client.clientPort,
            dstPort: client.serverPort, proto: client.proto, etype: client.client.isIPv4 ? 0x0800 : 0x86DD, bytes: 0,
            packets: 0, timeFlowStartMs: queryNs / 1_000_000, timeFlowEndMs: responseNs / 1_000_000, interfaces: [],
            ifDirections: [], flags: 0, netNs: 0, nodeName: nodeName, dnsId: client.id, dnsFlags: client.flags,
            dnsFlagsResponseCode: client.rcode, dnsLatencyNs: UInt64(max(0, responseNs - queryNs)),
            dnsName: client.question?.name, dnsQType: client.question?.type, dnsErrno: DNSErrno.none)
        record.dnsAnswers = client.answers
        serverSide(of: client, queryNs: queryNs, responseNs: responseNs, into: &record)
        return record
    }

    private static func same(_ a: DNSQuestion?, _ b: DNSQuestion?) -> Bool {
        guard let a, let b else { return false }
        return a.type == b.type && a.name.lowercased() == b.name.lowercased()
    }
}
