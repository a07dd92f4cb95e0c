/// Turns one eviction window's flows and DNS transactions into records.
///
/// Flow counters are counted once, on the flow's first sighting. A transaction carries its own
/// packets (its queries, retransmissions included, and its response), and they are taken off the
/// flows of every 5-tuple it took: a DNS flow whose packets were all its transactions' leaves no
/// record, one with more (a TCP handshake, a transaction of another window) keeps the rest. Summed
/// over a window, records count each packet the node carried once.
public struct FlowAssembler: Sendable {
    public var nodeName: String

    public init(nodeName: String) {
        self.nodeName = nodeName
    }

    public func records(flows: [FlowSample], transactions: [DNSTransaction]) -> [FlowRecord] {
        var flowIndex: [FlowKey: Int] = [:]
        flowIndex.reserveCapacity(flows.count)
        for index in flows.indices { flowIndex[flows[index].key] = index }
        var left = flows.map { Counts(bytes: $0.bytes, packets: $0.packets) }

        var records: [FlowRecord] = []
        records.reserveCapacity(flows.count + transactions.count)
        var sightings = Sightings()
        var taken: [FlowKey] = []
        // Transactions and their views read in place: a view copied is a retain and a release of
        // each of its strings and arrays.
        for t in transactions.indices {
            var record = self.record(transactions[t], &sightings, flows: flows, flowIndex: flowIndex)
            let sent = Counts(queriesOf: transactions[t].stages[0])
            let answered = Counts(responseOf: transactions[t].stages[0])
            // Once per 5-tuple: a namespace that routes without translating pairs on the client's.
            taken.removeAll(keepingCapacity: true)
            for s in transactions[t].stages.indices where !taken.contains(transactions[t].stages[s].queryKey) {
                let query = transactions[t].stages[s].queryKey
                taken.append(query)
                if let index = flowIndex[query] { left[index].take(sent) }
                if let index = flowIndex[query.reversed] { left[index].take(answered) }
            }
            record.bytes = sent.bytes + answered.bytes
            record.packets = sent.packets + answered.packets
            records.append(record)
        }
        for index in flows.indices where left[index].packets > 0 || left[index].bytes > 0 {
            var record = self.record(flows[index])
            record.bytes = left[index].bytes
            record.packets = left[index].packets
            records.append(record)
        }
        return records
    }

    /// Transactions without their flows, when a window has more than can wait for them: with zero
    /// counters, their flows carrying the packets at the window's end.
    public func records(transactions: [DNSTransaction]) -> [FlowRecord] {
        var sightings = Sightings()
        return transactions.map { record($0, &sightings, flows: [], flowIndex: [:]) }
    }

    /// Packets and their bytes: a flow's left after its transactions, or a transaction's own in
    /// one direction, from its client's view.
    private struct Counts {
        var bytes: UInt64
        var packets: UInt64

        init(bytes: UInt64, packets: UInt64) {
            self.bytes = bytes
            self.packets = packets
        }

        init(queriesOf client: borrowing DNSView) {
            packets = client.outcome == .orphan ? 0 : 1 + UInt64(client.retransmits)
            bytes = packets * UInt64(client.queryBytes)
        }

        init(responseOf client: borrowing DNSView) {
            packets = client.outcome == .timedOut ? 0 : 1
            bytes = packets * UInt64(client.responseBytes)
        }

        /// Never below zero: a flow evicted in an earlier window had some of them.
        mutating func take(_ other: Counts) {
            bytes -= min(bytes, other.bytes)
            packets -= min(packets, other.packets)
        }
    }

    private func record(
        _ transaction: DNSTransaction, _ sightings: inout Sightings, flows: [FlowSample], flowIndex: [FlowKey: Int]
    ) -> FlowRecord {
        let client = transaction.client
        let query = client.queryKey
        let innermost = transaction.stages[transaction.stages.count - 1].queryKey
        var tcpFlags: UInt16 = 0
        // Every interface the query crossed, as its flows list them; a stage's own where its
        // flows are not in this window.
        sightings.seen.removeAll(keepingCapacity: true)
        for s in transaction.stages.indices {
            if let index = flowIndex[transaction.stages[s].queryKey] {
                tcpFlags |= flows[index].tcpFlags
                for observation in flows[index].observations where !sightings.seen.contains(observation) {
                    sightings.seen.append(observation)
                }
            } else if !sightings.seen.contains(transaction.stages[s].observation) {
                sightings.seen.append(transaction.stages[s].observation)
            }
        }
        let (interfaces, directions) = sightings.lists()

        var record = FlowRecord(
            recordType: .dnsTransaction,
            srcAddr: query.srcAddr, dstAddr: query.dstAddr, srcPort: query.srcPort, dstPort: query.dstPort,
            proto: query.proto, etype: query.etype, bytes: 0, packets: 0,
            timeFlowStartMs: client.startNs / 1_000_000, timeFlowEndMs: client.endNs / 1_000_000,
            interfaces: interfaces, ifDirections: directions, flags: tcpFlags, netNs: client.observation.netNs,
            nodeName: nodeName, dnsId: client.id)
        if innermost.dstAddr != query.dstAddr || innermost.dstPort != query.dstPort {
            record.xlatDstAddr = innermost.dstAddr
            record.xlatDstPort = innermost.dstPort
        }
        let question = transaction.stages.lazy.compactMap(\.question).first
        record.dnsName = question?.name
        record.dnsQType = question?.type
        switch client.outcome {
        case .answered(let latencyNs):
            record.dnsFlagsResponseCode = DNSResponseCode(flags: client.flags)
            record.dnsLatencyNs = Self.microseconds(latencyNs)
            record.dnsErrno = DNSErrno.none
        case .orphan:
            record.dnsFlagsResponseCode = DNSResponseCode(flags: client.flags)
            record.dnsErrno = DNSErrno.noQuery
        case .timedOut:
            record.dnsErrno = DNSErrno.timedOut
        }
        record.dnsFlags = client.flags
        record.dnsRetransmits = transaction.stages.lazy.map(\.retransmits).max()
        record.dnsAnswers = transaction.stages.lazy.compactMap(\.answers).first
        record.requester = transaction.stages.lazy.compactMap(\.requester).first
        record.dnsStages = transaction.stages.map { stage in
            let key = stage.queryKey
            let latencyNs: UInt64? =
                if case .answered(let latencyNs) = stage.outcome { Self.microseconds(latencyNs) } else { nil }
            return DNSStage(
                netNs: stage.observation.netNs, interface: stage.observation.interface, serverAddr: key.dstAddr,
                serverPort: key.dstPort, latencyNs: latencyNs)
        }
        return record
    }

    /// Whole microseconds: 213_456 ns → 0.213 ms.
    private static func microseconds(_ ns: UInt64) -> UInt64 { ns / 1_000 * 1_000 }

    private func record(_ flow: FlowSample) -> FlowRecord {
        FlowRecord(
            srcAddr: flow.key.srcAddr, dstAddr: flow.key.dstAddr,
            srcPort: flow.key.srcPort, dstPort: flow.key.dstPort, proto: flow.key.proto, etype: flow.key.etype,
            bytes: flow.bytes, packets: flow.packets,
            timeFlowStartMs: flow.startNs / 1_000_000, timeFlowEndMs: flow.endNs / 1_000_000,
            interfaces: flow.observations.map(\.interface), ifDirections: flow.observations.map(\.direction),
            flags: flow.tcpFlags, netNs: flow.observations.first?.netNs ?? 0, nodeName: nodeName
        )
    }
}

/// The interface lists of a call's transaction records, made once per path: most records share
/// a few paths through the node, and a shared array costs a retain where a new one costs an
/// allocation (and its memory while the record waits in an exporter's buffer).
private struct Sightings {
    /// The path being built: the caller fills it, `lists()` names it.
    var seen: [Observation] = []
    private var made: [[Observation]: (interfaces: [String], directions: [UInt8])] = [:]
    private var last: (path: [Observation], lists: (interfaces: [String], directions: [UInt8]))?

    mutating func lists() -> (interfaces: [String], directions: [UInt8]) {
        if let last, last.path == seen { return last.lists }
        // The stored key, not `seen`: keeping `seen` would share its buffer, and rebuilding it
        // for the next record would allocate.
        if let index = made.index(forKey: seen) {
            last = (made[index].key, made[index].value)
            return made[index].value
        }
        let lists = (seen.map(\.interface), seen.map(\.direction))
        made[seen] = lists  // a new path: `seen` gets a buffer of its own when next rebuilt
        last = (seen, lists)
        return lists
    }
}
