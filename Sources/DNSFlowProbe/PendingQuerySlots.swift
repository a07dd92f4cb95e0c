import CBPF

#if canImport(Glibc)
    import Glibc
#endif

/// A query that waited too long, as the kernel side kept it.
struct WaitingQuery {
    var key: dns_key
    var queryNs: UInt64
    var detail: dns_query_detail
}

/// User space's view of `dns_pending`, mapped into memory: finding the queries that waited too
/// long is a scan of the slots' state words, not a syscall per slot.
final class PendingQuerySlots {
    let count: Int
    private let slots: UnsafeMutablePointer<dns_pending>
    /// Bytes to unmap at deinit; 0 when the mapping is not this instance's.
    private let mappedBytes: Int
    /// Copies slot `index`'s `dns_pending_detail` entry; false if it could not be read.
    private let readDetail: (UInt32, inout dns_query_detail) -> Bool

    /// Over `count` slots at `slots`, which stay the caller's.
    init(
        slots: UnsafeMutablePointer<dns_pending>, count: Int,
        readDetail: @escaping (UInt32, inout dns_query_detail) -> Bool
    ) {
        self.slots = slots
        self.count = count
        self.mappedBytes = 0
        self.readDetail = readDetail
    }

    /// `slotsFD` is `dns_pending` (mmapable) and `detailFD` is `dns_pending_detail`, `count` entries each.
    init(slotsFD: Int32, detailFD: Int32, count: Int) throws(ProbeError) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        mappedBytes = (count * MemoryLayout<dns_pending>.stride + page - 1) / page * page
        let address = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_SHARED, slotsFD, 0)
        guard let address, address != MAP_FAILED else { throw .mappingPendingTable(errno: errno) }
        slots = address.bindMemory(to: dns_pending.self, capacity: count)
        self.count = count
        readDetail = { index, detail in
            var index = index
            return bpf_map_lookup_elem(detailFD, &index, &detail) == 0
        }
    }

    deinit {
        if mappedBytes > 0 { munmap(slots, mappedBytes) }
    }

    /// Frees the slots whose query was made before `deadline` (CLOCK_MONOTONIC ns) and returns
    /// their queries.
    func takeQueries(madeBefore deadline: UInt64) -> [WaitingQuery] {
        var taken: [WaitingQuery] = []
        for i in 0..<count {
            let state = stateWord(i)
            let since = dnsflow_load_slot_state(state)
            guard since > UInt64(DNSFLOW_SLOT_ANSWERED), since < deadline else { continue }
            var query = WaitingQuery(key: slots[i].key, queryNs: since, detail: dns_query_detail())
            // The copies are this query's only if the state still holds its timestamp
            // afterwards: a slot is rewritten only once it was freed.
            guard readDetail(UInt32(i), &query.detail),
                dnsflow_swap_slot_state(state, since, UInt64(DNSFLOW_SLOT_FREE)) != 0
            else { continue }
            taken.append(query)
        }
        return taken
    }

    /// Slots holding a query now.
    var waiting: Int {
        (0..<count).reduce(0) { total, i in
            total + (dnsflow_load_slot_state(stateWord(i)) > UInt64(DNSFLOW_SLOT_ANSWERED) ? 1 : 0)
        }
    }

    /// The slot's state word, which the programs and this class change only atomically.
    private func stateWord(_ i: Int) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutableRawPointer(slots + i).advanced(by: MemoryLayout<dns_pending>.offset(of: \.state)!)
            .assumingMemoryBound(to: UInt64.self)
    }
}
