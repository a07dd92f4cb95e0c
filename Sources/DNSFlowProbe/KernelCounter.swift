import CBPF

/// The kernel side's named counters (enum dnsflow_counter in bpf/dnsflow.h, in its order): each
/// case is named as its C enum constant and its `/metrics` reason.
public enum KernelCounter: UInt32, CaseIterable, Sendable {
    case packets
    case notIP
    case truncatedHeader
    case flowMapFull
    case dnsShort
    case dnsBadQDCount
    case dnsQueryMapFull
    case dnsRingBufferFull
    case dnsQuerySeenAgain
    case dnsResponseSeenAgain
    case dnsOrphanResponse
    case dnsFragment
    case dnsRequesterNotSender
    case dnsAnswersCut
    case dropNotIP
    case dropNoHeader
    case dropNotDNS
    case dropRingBufferFull

    /// The metric label: what happened, in words a dashboard can show.
    public var reason: String {
        switch self {
        case .packets: "packets"
        case .notIP: "not_ip"
        case .truncatedHeader: "truncated_header"
        case .flowMapFull: "flow_map_full"
        case .dnsShort: "dns_short"
        case .dnsBadQDCount: "dns_bad_qdcount"
        case .dnsQueryMapFull: "dns_query_map_full"
        case .dnsRingBufferFull: "dns_ring_buffer_full"
        case .dnsQuerySeenAgain: "dns_query_seen_again"
        case .dnsResponseSeenAgain: "dns_response_seen_again"
        case .dnsOrphanResponse: "dns_orphan_response"
        case .dnsFragment: "dns_fragment"
        case .dnsRequesterNotSender: "dns_requester_not_sender"
        case .dnsAnswersCut: "dns_answers_cut"
        case .dropNotIP: "drop_not_ip"
        case .dropNoHeader: "drop_no_header"
        case .dropNotDNS: "drop_not_dns"
        case .dropRingBufferFull: "drop_ring_buffer_full"
        }
    }
}

/// Reads the per-CPU `counters` map.
struct KernelCounterReader {
    let mapFD: Int32
    private let possibleCPUs = Int(libbpf_num_possible_cpus())

    init(mapFD: Int32) {
        self.mapFD = mapFD
    }

    /// Each counter summed over CPUs.
    func read() -> [KernelCounter: UInt64] {
        var totals: [KernelCounter: UInt64] = [:]
        var perCPU = [UInt64](repeating: 0, count: possibleCPUs)
        for counter in KernelCounter.allCases {
            var index = counter.rawValue
            if bpf_map_lookup_elem(mapFD, &index, &perCPU) == 0 {
                totals[counter] = perCPU.reduce(0, &+)
            }
        }
        return totals
    }
}
