import CBPF

/// The kernel side's named counters (enum dnsflow_counter in bpf/dnsflow.h).
public enum KernelCounter: UInt32, CaseIterable, Sendable {
    case packets
    case notIP
    case truncatedHeader
    case flowMapFull
    case dnsShort
    case dnsBadQDCount
    case dnsQueryMapFull
    case dnsRingBufferFull
    case dnsRetransmit
    case dnsDuplicate
    case dnsOrphan
    case dnsFragment

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
        case .dnsRetransmit: "dns_query_seen_again"
        case .dnsDuplicate: "dns_response_seen_again"
        case .dnsOrphan: "dns_orphan_response"
        case .dnsFragment: "dns_fragment"
        }
    }
}
