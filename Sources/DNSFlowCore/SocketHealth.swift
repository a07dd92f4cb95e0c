/// A network namespace's UDP socket health as the kernel counts it: /proc/net/sockstat's `UDP:` line and
/// /proc/net/snmp's `Udp:` counters. RcvbufErrors rising with DNS timeouts means answers were dropped at a
/// full socket buffer.
public struct SocketHealth: Hashable, Sendable {
    public var udpInUse: UInt64
    /// Pages of memory UDP sockets hold.
    public var udpMemoryPages: UInt64
    public var inErrors: UInt64
    public var rcvbufErrors: UInt64
    public var noPorts: UInt64
    public var inCsumErrors: UInt64

    public init(
        udpInUse: UInt64, udpMemoryPages: UInt64, inErrors: UInt64, rcvbufErrors: UInt64, noPorts: UInt64,
        inCsumErrors: UInt64
    ) {
        self.udpInUse = udpInUse
        self.udpMemoryPages = udpMemoryPages
        self.inErrors = inErrors
        self.rcvbufErrors = rcvbufErrors
        self.noPorts = noPorts
        self.inCsumErrors = inCsumErrors
    }

    /// The two files' text; nil when either lacks its UDP lines.
    public init?(sockstat: Substring, snmp: Substring) {
        guard let line = sockstat.split(separator: "\n").first(where: { $0.hasPrefix("UDP: ") }) else { return nil }
        let words = line.split(separator: " ")
        func value(after key: Substring) -> UInt64? {
            words.firstIndex(of: key).flatMap { $0 + 1 < words.count ? UInt64(words[$0 + 1]) : nil }
        }
        let udp = snmp.split(separator: "\n").filter { $0.hasPrefix("Udp: ") }
        guard let inUse = value(after: "inuse"), let memory = value(after: "mem"), udp.count >= 2 else { return nil }
        let counters = Dictionary(
            zip(udp[0].split(separator: " ").dropFirst(), udp[1].split(separator: " ").dropFirst().map { UInt64($0) }),
            uniquingKeysWith: { first, _ in first })
        guard let inErrors = counters["InErrors"] ?? nil, let rcvbuf = counters["RcvbufErrors"] ?? nil,
            let noPorts = counters["NoPorts"] ?? nil
        else { return nil }
        self.init(
            udpInUse: inUse, udpMemoryPages: memory, inErrors: inErrors, rcvbufErrors: rcvbuf, noPorts: noPorts,
            inCsumErrors: (counters["InCsumErrors"] ?? nil) ?? 0)
    }
}
