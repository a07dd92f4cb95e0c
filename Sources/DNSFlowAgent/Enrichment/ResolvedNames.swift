import DNSFlowCore

/// The names clients resolved, by (client, answer address), until the answer's TTL runs out:
/// what gives a flow its `DstDnsName`. A least-recently-used table of at most `capacity`
/// entries (`dnsTracking.resolvedNames`); when full, the least recently learned or used entry
/// makes room.
///
/// Time is the records' own (epoch ms): an answer is valid from the response until TTL seconds
/// after it, and a flow matches if it started by then. The export delay of a window then does
/// not eat into short TTLs, and tests set time through the records.
public struct ResolvedNames: Sendable {
    struct Key: Hashable {
        var client: IPAddress
        var answer: IPAddress
    }

    private struct Entry {
        var key: Key
        var name: String
        var expiresMs: Int64
        /// Neighbours in recency order, as indices into `entries`; -1 at either end.
        var older: Int32
        var newer: Int32
    }

    public let capacity: Int
    private var index: [Key: Int32] = [:]
    private var entries: [Entry] = []
    private var newest: Int32 = -1
    private var oldest: Int32 = -1

    public init(capacity: Int) {
        precondition(capacity > 0 && capacity <= Int(Int32.max), "capacity is checked by the config")
        self.capacity = capacity
    }

    public var count: Int { entries.count }

    /// Learns a transaction's answers: each address it answered, for its client, names what the
    /// client asked (the start of a CNAME chain). Returns how many live entries it pushed out.
    public mutating func learn(_ transaction: FlowRecord) -> Int {
        // TTL 0: not to be kept, so no later flow takes the name.
        guard let name = transaction.dnsName, let answers = transaction.dnsAnswers, let ttl = answers.ttl, ttl > 0
        else { return 0 }
        let expiresMs = transaction.timeFlowEndMs + Int64(ttl) * 1000
        var evicted = 0
        for address in answers.addresses {
            let key = Key(client: transaction.srcAddr, answer: address)
            if let slot = index[key] {
                entries[Int(slot)].name = name
                entries[Int(slot)].expiresMs = expiresMs
                touch(slot)
            } else if entries.count < capacity {
                let slot = Int32(entries.count)
                entries.append(Entry(key: key, name: name, expiresMs: expiresMs, older: -1, newer: -1))
                index[key] = slot
                pushNewest(slot)
            } else {
                // Reuse the oldest entry's slot; one still within its TTL is a name lost.
                let slot = oldest
                if entries[Int(slot)].expiresMs >= transaction.timeFlowEndMs { evicted += 1 }
                unlink(slot)
                index[entries[Int(slot)].key] = nil
                entries[Int(slot)] = Entry(key: key, name: name, expiresMs: expiresMs, older: -1, newer: -1)
                index[key] = slot
                pushNewest(slot)
            }
        }
        return evicted
    }

    /// The name `client` resolved `destination` from, if the answer was still valid when the flow
    /// started at `startMs`.
    public mutating func name(client: IPAddress, destination: IPAddress, startMs: Int64) -> String? {
        guard let slot = index[Key(client: client, answer: destination)], startMs <= entries[Int(slot)].expiresMs
        else { return nil }
        touch(slot)
        return entries[Int(slot)].name
    }

    private mutating func touch(_ slot: Int32) {
        guard slot != newest else { return }
        unlink(slot)
        pushNewest(slot)
    }

    private mutating func unlink(_ slot: Int32) {
        let (older, newer) = (entries[Int(slot)].older, entries[Int(slot)].newer)
        if older >= 0 { entries[Int(older)].newer = newer } else { oldest = newer }
        if newer >= 0 { entries[Int(newer)].older = older } else { newest = older }
    }

    private mutating func pushNewest(_ slot: Int32) {
        entries[Int(slot)].older = newest
        entries[Int(slot)].newer = -1
        if newest >= 0 { entries[Int(newest)].newer = slot } else { oldest = slot }
        newest = slot
    }
}
