import DNSFlowAgent
import DNSFlowCore
import ServiceLifecycle
import Synchronization

@testable import DNSFlowProbe

/// A flow source the test fills: views, flows, timed-out queries and counters, with a log of calls.
final class FakeFlowSource: FlowSource {
    struct State {
        var views: [DNSView] = []
        var flows: [FlowSample] = []
        var timedOut: [DNSView] = []
        var counters: [KernelCounter: UInt64] = [:]
        var programs: [ProgramStats] = []
        var droppedEvents = 0
        var badAnswerSections = 0
        var pendingQueries = 0
        var evictionFails = false
        /// Every call, in order: "expire", "evict", "take", "drain".
        var calls: [String] = []
    }

    let state = Mutex(State())

    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var calls: [String] { state.withLock { $0.calls } }

    var viewCount: Int { state.withLock { $0.views.count } }

    func takeViews() -> [DNSView] {
        state.withLock { state in
            state.calls.append("take")
            defer { state.views = [] }
            return state.views
        }
    }

    func expireQueries(timeout: Duration) -> [DNSView] {
        state.withLock { state in
            state.calls.append("expire")
            defer { state.timedOut = [] }
            return state.timedOut
        }
    }

    func evictFlows() throws -> [FlowSample] {
        try state.withLock { state in
            state.calls.append("evict")
            if state.evictionFails { throw FakeEvictionError() }
            defer { state.flows = [] }
            return state.flows
        }
    }

    func drainEvents() { state.withLock { $0.calls.append("drain") } }
    var droppedEvents: Int { state.withLock { $0.droppedEvents } }
    var badAnswerSections: Int { state.withLock { $0.badAnswerSections } }
    func pendingQueryCount() -> Int { state.withLock { $0.pendingQueries } }
    func counters() -> [KernelCounter: UInt64] { state.withLock { $0.counters } }
    func programStats() -> [ProgramStats] { state.withLock { $0.programs } }
}

struct FakeEvictionError: Error {}

/// An exporter that keeps every batch the evictor hands it.
final class CollectingExporter: FlowExporter {
    let name = "collecting"
    private let batches = Mutex<[[FlowRecord]]>([])

    var received: [[FlowRecord]] { batches.withLock { $0 } }
    func enqueue(_ records: [FlowRecord]) { batches.withLock { $0.append(records) } }
    func run() async throws { try await gracefulShutdown() }
}

/// Synthetic kernel data, so records are made the way the agent makes them.
enum Samples {
    static func key(_ index: Int) -> FlowKey {
        FlowKey(
            srcAddr: IPAddress(ipv4: 10, 0, UInt8(index / 250), UInt8(index % 250 + 1)),
            dstAddr: IPAddress(ipv4: 10, 96, 0, 10), srcPort: UInt16(40_000 + index % 20_000), dstPort: 53, proto: 17,
            etype: 0x0800)
    }

    static func flows(_ count: Int, interface: String = "eth0") -> [FlowSample] {
        (0..<count).map { index in
            FlowSample(
                key: key(index), bytes: 100, packets: 1, startNs: 1_763_812_800_000_000_000,
                endNs: 1_763_812_800_001_000_000, tcpFlags: 0,
                observations: [Observation(netNs: 1, interface: interface, direction: 1)])
        }
    }

    static func views(_ count: Int, outcome: DNSView.Outcome = .answered(latencyNs: 500_000)) -> [DNSView] {
        (0..<count).map { index in
            DNSView(
                outcome: outcome, key: outcome == .timedOut ? key(index) : key(index).reversed,
                observation: Observation(netNs: 1, interface: "eth0", direction: 1), id: UInt16(index % 65_536),
                flags: outcome == .timedOut ? 0x0100 : 0x8183, question: nil,
                startNs: 1_763_812_800_000_000_000, endNs: 1_763_812_800_000_500_000)
        }
    }

    /// Records as the evictor would make them from `count` flows.
    static func records(_ count: Int) -> [FlowRecord] {
        FlowAssembler(nodeName: "node").records(flows: flows(count), transactions: [])
    }
}
