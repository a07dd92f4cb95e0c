/// One DNS lookup as the node saw it: the views of every namespace it crossed, and every 5-tuple
/// it took in each (a router that translates pairs it twice), from the client inward.
public struct DNSTransaction: Sendable {
    /// Ordered by the query's first sighting: the client's namespace first.
    public var stages: [DNSView]

    public init(stages: [DNSView]) {
        self.stages = stages
    }

    /// The outermost stage: the client's wait, its address and the server it addressed.
    public var client: DNSView { stages[0] }
}

/// Joins the views of one window into transactions, on what NAT leaves alone: {DNS id, client
/// address and port, protocol}. The server side may differ between views (DNAT); a SNAT that
/// rewrites the client makes another transaction.
///
/// One key can carry several transactions in a window (a resolver reusing its socket wraps its
/// ids): views of one transaction overlap in time, the client's wait holding every other's, and
/// each namespace and 5-tuple pairs once; responses with no query join within `grace` of each
/// other. A transaction whose newest view is younger than `grace`
/// may still have a view in flight (the ring is drained on a period, queries expire on one): it
/// waits for the next window, once.
public struct StageJoiner: Sendable {
    private struct Key: Hashable {
        var client: IPAddress
        var clientPort: UInt16
        var id: UInt16
        var proto: UInt8
        var etype: UInt16

        init(_ view: DNSView) {
            let query = view.queryKey
            client = query.srcAddr
            clientPort = query.srcPort
            id = view.id
            proto = query.proto
            etype = query.etype
        }
    }

    /// A view's pairing: a namespace and the server of its 5-tuple.
    private struct Pairing: Equatable {
        var netNs: UInt32
        var server: IPAddress
        var serverPort: UInt16

        init(_ view: DNSView) {
            let query = view.queryKey
            netNs = view.observation.netNs
            server = query.dstAddr
            serverPort = query.dstPort
        }
    }

    private let graceNs: Int64
    /// Views of transactions held back from the last window.
    private var held: [DNSView] = []

    public init(grace: Duration = .milliseconds(100)) {
        let (seconds, attoseconds) = grace.components
        graceNs = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Views held for the next window.
    public var heldCount: Int { held.count }

    /// The transactions of `views` and of the views held from the last window, at `nowNs` (epoch
    /// nanoseconds). With `nowNs` nil (the last window, at shutdown), nothing waits.
    public mutating func join(_ views: [DNSView], nowNs: Int64?) -> [DNSTransaction] {
        let heldBefore = held.count
        var all = held
        all.append(contentsOf: views)
        held.removeAll(keepingCapacity: true)
        guard !all.isEmpty else { return [] }

        var groups: [Key: [Int]] = [:]
        groups.reserveCapacity(all.count)
        for index in all.indices { groups[Key(all[index]), default: []].append(index) }
        let settledBefore = nowNs.map { $0 - graceNs } ?? .max

        var transactions: [DNSTransaction] = []
        transactions.reserveCapacity(all.count / 2 + 1)
        for indices in groups.values {
            for cluster in clusters(indices, of: all) {
                // Held once already, or settled: out now.
                let wasHeld = cluster.contains { $0 < heldBefore }
                if !wasHeld && cluster.contains(where: { all[$0].endNs > settledBefore }) {
                    for index in cluster { held.append(all[index]) }
                    continue
                }
                transactions.append(DNSTransaction(stages: cluster.map { all[$0] }))
            }
        }
        transactions.sort { $0.client.startNs < $1.client.startNs }
        return transactions
    }

    /// Splits one key's views into transactions: by query time, a view joins the first open
    /// transaction whose client was still waiting when this view's query came, and that has no
    /// view of the same pairing yet. Responses with no query (orphans) have no wait: they join
    /// orphans of their key seen within `orphanSpreadNs`, ordered the way a response travels,
    /// from the server outward, so the client's namespace still comes first.
    private func clusters(_ indices: [Int], of views: [DNSView]) -> [[Int]] {
        if indices.count == 1 { return [indices] }
        let ordered = indices.sorted { Self.order(views[$0], before: views[$1]) }
        var clusters: [[Int]] = []
        for index in ordered {
            let view = views[index]
            let pairing = Pairing(view)
            let orphan = view.outcome == .orphan
            if let open = clusters.firstIndex(where: { cluster in
                let first = views[cluster[0]]
                guard (first.outcome == .orphan) == orphan else { return false }
                let waiting =
                    orphan
                    ? view.startNs - views[cluster[cluster.count - 1]].endNs <= graceNs : view.startNs <= first.endNs
                return waiting && !cluster.contains { Pairing(views[$0]) == pairing }
            }) {
                clusters[open].append(index)
            } else {
                clusters.append([index])
            }
        }
        for index in clusters.indices where views[clusters[index][0]].outcome == .orphan {
            clusters[index].reverse()
        }
        return clusters
    }

    /// The client's view first: its query was seen first; at the same instant, it waited longest.
    private static func order(_ a: DNSView, before b: DNSView) -> Bool {
        if a.startNs != b.startNs { return a.startNs < b.startNs }
        return a.endNs > b.endNs
    }
}
