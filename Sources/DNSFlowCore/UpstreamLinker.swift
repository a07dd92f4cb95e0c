/// Links a resolver's upstream queries to the client lookups they served, from packets alone.
///
/// A resolver on the node that receives a query and, before it answers, sends its own query for the
/// same name and type (a new id, a new socket, often from another address) forwarded it. So a lookup
/// whose wait in its innermost namespace (where the resolver runs) holds the start of a lookup that
/// namespace sent for the same question was a cache miss, and that one its upstream. A lookup with no
/// such upstream was a cache hit, but only where its resolver is known to forward: its namespace,
/// address and port forwarded a lookup before. An authoritative server, or one off the node, gets no
/// claim either way.
///
/// The upstreams of the last window are kept for the next one, whose client lookups may have been held
/// back past them.
public struct UpstreamLinker: Sendable {
    /// A transaction's server side, as far as the packets tell it.
    public struct Links: Hashable, Sendable {
        public var cacheHit: Bool?
        public var upstream: [DNSLinkedLookup] = []
        public var serves: [DNSLinkedLookup] = []

        public init(cacheHit: Bool? = nil, upstream: [DNSLinkedLookup] = [], serves: [DNSLinkedLookup] = []) {
            self.cacheHit = cacheHit
            self.upstream = upstream
            self.serves = serves
        }

        public var isEmpty: Bool { cacheHit == nil && upstream.isEmpty && serves.isEmpty }
    }

    /// A question asked from a namespace.
    private struct Asked: Hashable {
        var netNs: UInt32
        var name: String
        var type: DNSQueryType
    }

    /// A lookup that may be another's upstream.
    private struct Candidate {
        /// Its transaction in this window; nil for one carried from the last.
        var index: Int?
        var startNs: Int64
        var lookup: DNSLinkedLookup
    }

    /// Where a resolver listens.
    private struct Endpoint: Hashable {
        var netNs: UInt32
        var addr: IPAddress
        var port: UInt16
    }

    private var carried: [Asked: [Candidate]] = [:]
    private var resolvers: Set<Endpoint> = []
    private let maxCarried: Int
    private let maxResolvers: Int

    public init(maxCarried: Int = 4_096, maxResolvers: Int = 1_024) {
        self.maxCarried = maxCarried
        self.maxResolvers = maxResolvers
    }

    /// One `Links` per transaction, in their order.
    public mutating func link(_ transactions: [DNSTransaction]) -> [Links] {
        var links = [Links](repeating: Links(), count: transactions.count)
        var candidates = carried
        var fresh = 0
        for t in transactions.indices {
            guard let asked = Self.asked(transactions[t], from: transactions[t].client.observation.netNs) else {
                continue
            }
            let client = transactions[t].client
            let query = client.queryKey
            var lookup = DNSLinkedLookup(addr: query.dstAddr, port: query.dstPort, dnsId: client.id)
            if case .answered(let latencyNs) = client.outcome {
                lookup.latencyNs = latencyNs / 1_000 * 1_000
                lookup.rcode = DNSResponseCode(flags: client.flags)
            }
            candidates[asked, default: []].append(Candidate(index: t, startNs: client.startNs, lookup: lookup))
            fresh += 1
        }

        var forwarded: [(index: Int, endpoint: Endpoint)] = []
        for x in transactions.indices {
            let inner = transactions[x].stages[transactions[x].stages.count - 1]
            guard let asked = Self.asked(transactions[x], from: inner.observation.netNs), inner.outcome != .orphan,
                let matches = candidates[asked]
            else { continue }
            let client = transactions[x].client.queryKey
            let served = DNSLinkedLookup(addr: client.srcAddr, port: client.srcPort, dnsId: transactions[x].client.id)
            for candidate in matches
            where candidate.index != x && candidate.startNs >= inner.startNs && candidate.startNs <= inner.endNs {
                links[x].upstream.append(candidate.lookup)
                if let y = candidate.index { links[y].serves.append(served) }
            }
            guard !links[x].upstream.isEmpty else { continue }
            links[x].cacheHit = false
            let server = inner.queryKey
            forwarded.append((x, Endpoint(netNs: asked.netNs, addr: server.dstAddr, port: server.dstPort)))
        }
        if resolvers.count + forwarded.count > maxResolvers { resolvers.removeAll(keepingCapacity: true) }
        for (_, endpoint) in forwarded { resolvers.insert(endpoint) }

        for x in transactions.indices where links[x].cacheHit == nil {
            let inner = transactions[x].stages[transactions[x].stages.count - 1]
            guard case .answered = inner.outcome, transactions[x].stages.lazy.compactMap(\.question).first != nil
            else { continue }
            let server = inner.queryKey
            if resolvers.contains(Endpoint(netNs: inner.observation.netNs, addr: server.dstAddr, port: server.dstPort))
            {
                links[x].cacheHit = true
            }
        }
        carry(candidates, fresh: fresh)
        return links
    }

    /// Keeps this window's candidates, as carried ones, for the next; none if there are too many.
    private mutating func carry(_ candidates: [Asked: [Candidate]], fresh: Int) {
        carried.removeAll(keepingCapacity: true)
        guard fresh <= maxCarried else { return }
        for (asked, list) in candidates {
            let kept = list.compactMap {
                $0.index == nil ? nil : Candidate(index: nil, startNs: $0.startNs, lookup: $0.lookup)
            }
            if !kept.isEmpty { carried[asked] = kept }
        }
    }

    private static func asked(_ transaction: DNSTransaction, from netNs: UInt32) -> Asked? {
        guard let question = transaction.stages.lazy.compactMap(\.question).first else { return nil }
        return Asked(netNs: netNs, name: question.name.lowercased(), type: question.type)
    }
}
