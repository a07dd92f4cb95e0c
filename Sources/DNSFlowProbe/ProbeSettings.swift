/// What the kernel side is told before it loads.
public struct ProbeSettings: Sendable, Hashable {
    public enum Tracepoints: String, Sendable, CaseIterable {
        /// `tp_btf` when the kernel has BTF raw tracepoints, else the classic ones.
        case auto
        case btf
        case classic
    }

    /// Where queries wait for their response in the kernel.
    public enum PendingTable: String, Sendable, CaseIterable {
        /// `slots` where the kernel has BPF compare-and-swap (5.12), else `hash`.
        case auto
        /// A table of slots taken by compare-and-swap, the hash map for collisions: the fast one.
        case slots
        /// The hash map only: any kernel.
        case hash
    }

    /// Account one packet in `sampling` for non-DNS flows; 1 accounts every packet.
    public var sampling: UInt32
    public var dnsTracking: Bool
    /// A response's event carries its answer section (up to 512 bytes after the header), decoded
    /// into the view's answers; off, only its question.
    public var answers: Bool
    /// DNS over TCP, read by `cgroup_skb` programs on every packet of every local socket.
    public var dnsOverTCP: Bool
    public var dnsPorts: [UInt16]
    public var maxFlows: UInt32
    /// Queries waiting for their response, per node, in the kernel's hash map; the first few
    /// thousand wait in its faster table of slots (`pendingSlots`) instead.
    public var maxPendingQueries: UInt32
    /// Bytes of the DNS event ring buffer; a power of two.
    public var ringBufferBytes: UInt32
    public var tracepoints: Tracepoints
    public var pendingTable: PendingTable
    /// Where cgroup v2 is mounted, for DNS over TCP; nil finds it in /proc/mounts.
    public var cgroupRoot: String?
    /// DNS packets the kernel drops, from `tp_btf/kfree_skb` (PacketDrop).
    public var packetDrops: Bool

    public init(
        sampling: UInt32 = 1, dnsTracking: Bool = true, answers: Bool = true, dnsOverTCP: Bool = true,
        dnsPorts: [UInt16] = [53],
        maxFlows: UInt32 = 100_000, maxPendingQueries: UInt32 = 16_384, ringBufferBytes: UInt32 = 1 << 21,
        tracepoints: Tracepoints = .auto, pendingTable: PendingTable = .auto, cgroupRoot: String? = nil,
        packetDrops: Bool = false
    ) {
        self.sampling = sampling
        self.dnsTracking = dnsTracking
        self.answers = answers
        self.dnsOverTCP = dnsOverTCP
        self.dnsPorts = dnsPorts
        self.maxFlows = maxFlows
        self.maxPendingQueries = maxPendingQueries
        self.ringBufferBytes = ringBufferBytes
        self.tracepoints = tracepoints
        self.pendingTable = pendingTable
        self.cgroupRoot = cgroupRoot
        self.packetDrops = packetDrops
    }

    /// Slots of `dns_pending`: indexed by a masked hash, so a power of two. At most 4,096 (256 KiB,
    /// 64 pages, so that a lookup does not miss the TLB): a DNS server answers in milliseconds, so
    /// only unanswered queries pile up, and those can wait in the hash map.
    var pendingSlots: UInt32 { min(1 << (32 - UInt32((max(maxPendingQueries, 2) - 1).leadingZeroBitCount)), 4096) }
}
