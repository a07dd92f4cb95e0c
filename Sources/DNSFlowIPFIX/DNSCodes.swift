/// Wire values for the DNS fields `FlowRecord` keeps as optionals.
///
/// A DNS record always uses a DNS template, so a field the record lacks is sent as a value that
/// cannot occur on the wire for it: latency all ones (a timeout or an orphan response), qtype 0
/// (reserved by RFC 6895), rcode and errno 255, retransmits and TTL all ones (RFC 2181 caps a TTL
/// at 2³¹−1), port 0 and the unspecified address for no translation. Strings and lists that are
/// absent go as empty ones; a requester with pid 0, no comm and cgroup 0 is none (pid 0 is the
/// idle task, which sends no queries).
enum DNSCodes {
    static let absentLatency = UInt64.max
    static let absentQType: UInt16 = 0
    static let absentRcode: UInt8 = 255
    static let absentErrno: UInt8 = 255
    static let absentRetransmits = UInt16.max
    static let absentTtl = UInt32.max
    static let absentPort: UInt16 = 0
    /// `DnsCacheHit`: 0 a miss, 1 a hit.
    static let absentCacheHit: UInt8 = 255
    /// `DnsServerSource`: its number (1 packets, 2 dnstap).
    static let absentServerSource: UInt8 = 0

    static func present<T: Equatable>(_ value: T, unless absent: T) -> T? { value == absent ? nil : value }

    static func present(_ text: String) -> String? { text.isEmpty ? nil : text }
}
