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

        init(_ view: UnsafeMutablePointer<DNSView>) {
            let query = view.pointee.queryKey
            client = query.srcAddr
            clientPort = query.srcPort
            id = view.pointee.id
            proto = query.proto
            etype = query.etype
        }
    }

    /// A view's pairing: a namespace and the server of its 5-tuple.
    private struct Pairing: Equatable {
        var netNs: UInt32
        var server: IPAddress
        var serverPort: UInt16

        init(_ view: UnsafeMutablePointer<DNSView>) {
            let query = view.pointee.queryKey
            netNs = view.pointee.observation.netNs
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
    ///
    /// Views are read in place, through a pointer, grouped by index, and moved into their
    /// transaction: a view copied is a retain and a release of each of its strings and arrays,
    /// which cost more than the joining.
    public mutating func join(_ views: consuming [DNSView], nowNs: Int64?) -> [DNSTransaction] {
        var all = views
        let fresh = all.count
        // Indices from `fresh` on waited a window already.
        if all.isEmpty { swap(&all, &held) } else { all.append(contentsOf: held) }
        held.removeAll(keepingCapacity: true)
        guard !all.isEmpty else { return [] }
        let settledBefore = nowNs.map { $0 - graceNs } ?? .max

        var transactions: [DNSTransaction] = []
        transactions.reserveCapacity(all.count / 2 + 1)
        var starts: [Int64] = []
        all.withUnsafeMutableBufferPointer { all in
            let base = all.baseAddress!
            // Each view's group, then the views ordered by group: no array per group.
            var groupOf: [Key: Int] = [:]
            groupOf.reserveCapacity(all.count)
            var group = [Int](repeating: 0, count: all.count)
            for index in all.indices {
                let count = groupOf.count
                group[index] = groupOf[Key(base + index), default: count]
                if group[index] == count { groupOf[Key(base + index)] = count }
            }
            var ordered = Array(all.indices)
            ordered.sort { group[$0] != group[$1] ? group[$0] < group[$1] : Self.order(base + $0, before: base + $1) }
            func emit(_ cluster: some Collection<Int>) {
                // Held once already, or settled: out now.
                let wasHeld = cluster.contains { $0 >= fresh }
                if !wasHeld && cluster.contains(where: { base[$0].endNs > settledBefore }) {
                    for index in cluster { held.append(Self.take(base + index)) }
                    return
                }
                starts.append(base[cluster.first!].startNs)
                transactions.append(DNSTransaction(stages: cluster.map { Self.take(base + $0) }))
            }
            var first = 0
            var clusters: [[Int]] = []
            while first < ordered.count {
                var last = first + 1
                while last < ordered.count && group[ordered[last]] == group[ordered[first]] { last += 1 }
                let views = ordered[first..<last]
                if Self.isOneLookup(views, of: base) {
                    emit(views)
                } else {
                    clusters.removeAll(keepingCapacity: true)
                    cluster(views, of: base, into: &clusters)
                    for cluster in clusters { emit(cluster) }
                }
                first = last
            }
        }
        // By the client's query time: the indices sorted, then the transactions moved once.
        let byStart = transactions.indices.sorted { starts[$0] < starts[$1] }
        return byStart.map { transactions[$0] }
    }

    /// Splits one key's views, in query-time order, into transactions: a view joins the first
    /// open transaction whose client was still waiting when this view's query came, and that has
    /// no view of the same pairing yet. Responses with no query (orphans) have no wait: they join
    /// orphans of their key seen within `grace`, ordered the way a response travels, from the
    /// server outward, so the client's namespace still comes first.
    private func cluster(
        _ ordered: ArraySlice<Int>, of views: UnsafeMutablePointer<DNSView>, into clusters: inout [[Int]]
    ) {
        for index in ordered {
            let view = views + index
            let pairing = Pairing(view)
            let orphan = view.pointee.outcome == .orphan
            if let open = clusters.firstIndex(where: { cluster in
                let first = views + cluster[0]
                guard (first.pointee.outcome == .orphan) == orphan else { return false }
                let waiting =
                    orphan
                    ? view.pointee.startNs - views[cluster[cluster.count - 1]].endNs <= graceNs
                    : view.pointee.startNs <= first.pointee.endNs
                return waiting && !cluster.contains { Pairing(views + $0) == pairing }
            }) {
                clusters[open].append(index)
            } else {
                clusters.append([index])
            }
        }
        for index in clusters.indices where views[clusters[index][0]].outcome == .orphan {
            clusters[index].reverse()
        }
    }

    /// The common case, told without building clusters (an array each): answered or timed-out views, each
    /// pairing once, every query seen while the first view's client waited.
    private static func isOneLookup(_ ordered: ArraySlice<Int>, of views: UnsafeMutablePointer<DNSView>) -> Bool {
        let first = views + ordered[ordered.startIndex]
        guard first.pointee.outcome != .orphan else { return ordered.count == 1 }
        for (offset, index) in ordered.enumerated() where offset > 0 {
            let view = views + index
            guard view.pointee.outcome != .orphan, view.pointee.startNs <= first.pointee.endNs else { return false }
            let pairing = Pairing(view)
            for earlier in ordered.prefix(offset) where Pairing(views + earlier) == pairing { return false }
        }
        return true
    }

    /// Moves the view out, leaving one that holds no references: every view is taken once, after
    /// the grouping and ordering have read them all.
    private static func take(_ view: UnsafeMutablePointer<DNSView>) -> DNSView {
        let taken = view.move()
        view.initialize(to: .vacated)
        return taken
    }

    /// The client's view first: its query was seen first; at the same instant, it waited longest.
    private static func order(_ a: UnsafeMutablePointer<DNSView>, before b: UnsafeMutablePointer<DNSView>) -> Bool {
        if a.pointee.startNs != b.pointee.startNs { return a.pointee.startNs < b.pointee.startNs }
        return a.pointee.endNs > b.pointee.endNs
    }
}

extension DNSView {
    /// What a moved-out view leaves behind: no strings or arrays, so destroying it releases nothing.
    fileprivate static let vacated = DNSView(
        outcome: .orphan, key: FlowKey(srcAddr: .v4(0), dstAddr: .v4(0), srcPort: 0, dstPort: 0, proto: 0, etype: 0),
        observation: Observation(netNs: 0, interface: "", direction: 0), id: 0, flags: 0, question: nil,
        startNs: 0, endNs: 0)
}
