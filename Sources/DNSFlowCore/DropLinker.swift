/// A DNS packet the kernel dropped (`tp_btf/kfree_skb`), with the key of the transaction it belonged to.
public struct DNSDrop: Hashable, Sendable {
    public var clientAddr: IPAddress
    public var serverAddr: IPAddress
    public var clientPort: UInt16
    public var serverPort: UInt16
    /// Nil where the DNS header was not read (TCP): the drop is counted, not put on a transaction.
    public var id: UInt16?
    public var proto: UInt8
    /// The namespace it was dropped in (0: the packet had neither device nor socket).
    public var netNs: UInt32
    /// A response (else a query).
    public var response: Bool
    /// The kernel's name for why (`enum skb_drop_reason` without its prefix): `NETFILTER_DROP`, `SOCKET_RCVBUFF`, …
    public var reason: String
    public var timeMs: Int64

    public init(
        clientAddr: IPAddress, serverAddr: IPAddress, clientPort: UInt16, serverPort: UInt16, id: UInt16?,
        proto: UInt8, netNs: UInt32, response: Bool, reason: String, timeMs: Int64
    ) {
        self.clientAddr = clientAddr
        self.serverAddr = serverAddr
        self.clientPort = clientPort
        self.serverPort = serverPort
        self.id = id
        self.proto = proto
        self.netNs = netNs
        self.response = response
        self.reason = reason
        self.timeMs = timeMs
    }
}

/// Puts each dropped DNS packet on its transaction (`DnsDropReason`): the one with its client, server, ports and
/// id whose time spans the drop. A drop whose transaction has not been exported yet (a dropped query's times out
/// a `dnsTimeout` later) waits, at most `hold` and `capacity` of them.
public struct DropLinker: Sendable {
    private struct Key: Hashable {
        var client: IPAddress
        var server: IPAddress
        var clientPort: UInt16
        var serverPort: UInt16
        var id: UInt16
        var proto: UInt8
    }

    /// A transaction's times are the kernel's sightings; a drop may come a little before the first
    /// (dropped on the way out, before the interface) or after the last (dropped past the interface).
    private static let slackMs: Int64 = 1_000
    private let holdMs: Int64
    private let capacity: Int
    private var waiting: [DNSDrop] = []

    /// `hold`: the longest a drop waits for its transaction; past the DNS timeout and a window.
    public init(hold: Duration = .seconds(12), capacity: Int = 4_096) {
        holdMs = hold.wholeMilliseconds
        self.capacity = capacity
    }

    /// Drops still waiting for their transaction.
    public var waitingCount: Int { waiting.count }

    /// Sets `dnsDropReason` on the window's transactions that `drops` (and those waiting) belong to.
    /// `nowMs` nil: the last window, after which no drop waits.
    public mutating func link(_ records: inout [FlowRecord], drops: [DNSDrop], nowMs: Int64?) {
        var candidates = waiting
        candidates.append(contentsOf: drops.filter { $0.id != nil })
        waiting.removeAll(keepingCapacity: true)
        guard !candidates.isEmpty else { return }
        var transactions: [Key: [Int]] = [:]
        for index in records.indices where records[index].isTransaction {
            let r = records[index]
            guard let id = r.dnsId else { continue }
            let key = Key(
                client: r.srcAddr, server: r.dstAddr, clientPort: r.srcPort, serverPort: r.dstPort, id: id,
                proto: r.proto)
            transactions[key, default: []].append(index)
        }
        for drop in candidates {
            let key = Key(
                client: drop.clientAddr, server: drop.serverAddr, clientPort: drop.clientPort,
                serverPort: drop.serverPort, id: drop.id!, proto: drop.proto)
            let spanning = transactions[key]?.first { index in
                drop.timeMs >= records[index].timeFlowStartMs - Self.slackMs
                    && drop.timeMs <= records[index].timeFlowEndMs + Self.slackMs
            }
            if let index = spanning {
                if records[index].dnsDropReason == nil { records[index].dnsDropReason = drop.reason }
            } else if let nowMs, nowMs - drop.timeMs <= holdMs {
                waiting.append(drop)
            }
        }
        if waiting.count > capacity { waiting.removeFirst(waiting.count - capacity) }
    }
}
