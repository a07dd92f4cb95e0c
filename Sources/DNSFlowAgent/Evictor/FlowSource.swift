import DNSFlowCore
import DNSFlowProbe

/// What the evictor takes from the kernel side: the DNS views decoded from the ring buffer, the
/// flow map, the queries still waiting, and the counters behind the agent's metrics. `BPFProbe`
/// is the real one; tests fake it, so the evictor runs without root or a kernel.
public protocol FlowSource: Sendable {
    /// How many views `takeViews()` would return now.
    var viewCount: Int { get }
    /// The DNS views decoded since the last call.
    func takeViews() -> [DNSView]
    /// Removes the queries that waited longer than `timeout` and returns them as timeouts.
    func expireQueries(timeout: Duration) -> [DNSView]
    /// Removes every flow from the kernel map and returns them.
    func evictFlows() throws -> [FlowSample]
    /// The DNS packet drops decoded since the last call (PacketDrop).
    func takeDrops() -> [DNSDrop]
    /// Drops lost in user space because the evictor fell behind, since the start.
    var lostDrops: Int { get }
    /// Waits until what the ring buffer holds now is decoded; at shutdown.
    func drainEvents()

    /// DNS events dropped in user space because the evictor fell behind.
    var droppedEvents: Int { get }
    /// Responses whose answer section did not decode, since the start.
    var badAnswerSections: Int { get }
    /// Queries waiting for their response now.
    func pendingQueryCount() -> Int
    /// The kernel side's cumulative counters.
    func counters() -> [KernelCounter: UInt64]
    /// Cumulative run count and run time of each program.
    func programStats() -> [ProgramStats]
}

extension FlowSource {
    /// No drops: a source without PacketDrop.
    public func takeDrops() -> [DNSDrop] { [] }
    public var lostDrops: Int { 0 }
}

extension BPFProbe: FlowSource {}
