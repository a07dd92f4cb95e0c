import CBPF
import DNSFlowCore

/// Finds the queries that waited longer than the DNS timeout, in the slots and in the
/// `dns_queries` hash map, frees them and reports them as timeouts.
struct QueryExpiry {
    let slots: PendingQuerySlots
    /// `dns_queries`.
    let queriesFD: Int32
    let interfaceNames: InterfaceNames

    /// Removes the queries that waited longer than `timeout` and returns them as timeouts.
    func expire(timeout: Duration) -> [DNSView] {
        let clock = ClockOffset()
        let timeoutNs =
            UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        // A query made during the walk is newer than `clock`: it must not wrap around to "old".
        guard clock.monotonicNowNs > timeoutNs else { return [] }
        let deadline = clock.monotonicNowNs - timeoutNs
        var expired = slots.takeQueries(madeBefore: deadline)
        let overflowed = hashMapKeys().compactMap { key -> WaitingQuery? in
            var key = key
            var value = dns_query()
            guard bpf_map_lookup_elem(queriesFD, &key, &value) == 0, value.query_ns < deadline else { return nil }
            return WaitingQuery(key: key, queryNs: value.query_ns, detail: value.detail)
        }
        // Gone already: its response came after the walk, and the kernel side reported it.
        expired += overflowed.filter { query in
            var key = query.key
            return bpf_map_delete_elem(queriesFD, &key) == 0
        }
        return expired.map { view(of: $0, timeoutNs: timeoutNs, clock: clock) }
    }

    /// Queries waiting for their response now.
    var waiting: Int {
        slots.waiting + hashMapKeys().count
    }

    private func view(of query: WaitingQuery, timeoutNs: UInt64, clock: ClockOffset) -> DNSView {
        let key = query.key
        let detail = query.detail
        var view = DNSView(
            outcome: .timedOut,
            key: FlowKey(
                srcAddr: IPAddress(tuple: key.client_addr, ethType: key.eth_type),
                dstAddr: IPAddress(tuple: key.server_addr, ethType: key.eth_type),
                srcPort: key.client_port, dstPort: key.server_port, proto: key.proto, etype: key.eth_type),
            observation: Observation(
                netNs: key.netns,
                interface: interfaceNames.name(netNs: key.netns, ifindex: detail.ifindex, kernelName: detail.ifname),
                direction: detail.direction),
            id: key.id, flags: detail.flags,
            question: DNSQuestion(kernelBytes: detail.question, length: detail.question_len),
            startNs: clock.epochNs(query.queryNs),
            endNs: clock.epochNs(query.queryNs &+ timeoutNs))
        view.queryBytes = detail.ip_len
        view.retransmits = detail.retransmits
        view.requester = Requester(kernel: detail.requester)
        return view
    }

    /// The keys of the queries waiting in `dns_queries` (those whose slot was held, or every one
    /// in the hash build). Walked key by key: a batch lookup would copy every value.
    private func hashMapKeys() -> [dns_key] {
        var keys: [dns_key] = []
        var key = dns_key()
        var next = dns_key()
        var status = bpf_map_get_next_key(queriesFD, nil, &next)
        while status == 0 {
            keys.append(next)
            key = next
            status = bpf_map_get_next_key(queriesFD, &key, &next)
        }
        return keys
    }
}
