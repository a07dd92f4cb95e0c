import DNSFlowCore
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// The evictor's pass after the join: gives each window's transaction records their server side
/// (`DnsCacheHit`, `DnsUpstream`, `DnsServes`), from the packets (`UpstreamLinker`) and, where a
/// resolver sends dnstap, from the resolver's own word (`DnstapJoiner`), which wins. A client lookup
/// in dnstap that no record named within the join window goes out as a record of its own.
public final class ServerSidePass: Sendable {
    private struct State {
        var linker = UpstreamLinker()
        var dnstap: DnstapJoiner
        /// Transaction records of the last window that no dnstap message named yet.
        var held: [FlowRecord] = []
    }

    /// Resolvers flush their dnstap on a timer (unbound's and bind's: about a second), so a lookup's
    /// messages may come after its window: with dnstap on, a record no message named yet waits one
    /// window, at most this many.
    static let maxHeld = 65_536

    private let state: Mutex<State>
    /// What the dnstap listeners decoded since the last window.
    let inbox: DnstapInbox?
    private let nodeName: String
    private let dropped: Counter?
    private let unanswered: Counter?

    /// - Parameters:
    ///   - joinWindow: how long a dnstap lookup waits for its client's record before it goes out alone.
    ///   - capacity: the dnstap lookups held at most, of clients and of upstreams each.
    public init(
        inbox: DnstapInbox? = nil, nodeName: String = "", joinWindow: Duration = .seconds(10),
        capacity: Int = 65_536, registry: PrometheusCollectorRegistry? = nil
    ) {
        self.inbox = inbox
        self.nodeName = nodeName
        state = Mutex(State(dnstap: DnstapJoiner(window: joinWindow, capacity: capacity)))
        dropped = registry?.makeCounter(
            descriptor: .named(
                "dnsflow_dnstap_lookups_dropped_total",
                help: "dnstap messages dropped because the lookups waiting for a join were at their cap."))
        unanswered = registry?.makeCounter(
            descriptor: .named(
                "dnsflow_dnstap_lookups_unanswered_total",
                help: "dnstap client queries let go after the join window with no response logged."))
    }

    /// `records` start with one record per transaction, in their order (`FlowAssembler`'s). With
    /// `final` (the last window) nothing waits. Only records `exported` admits are joined with dnstap:
    /// a lookup whose packets the agent does not export keeps its dnstap view as a record of its own.
    public func annotate(
        _ records: inout [FlowRecord], transactions: [DNSTransaction], final: Bool = false, nowNs: Int64,
        exported: (FlowRecord) -> Bool = { _ in true }
    ) {
        let events = inbox?.take() ?? []
        let (lost, expired) = state.withLock { state in
            let links = state.linker.link(transactions)
            for t in links.indices where !links[t].isEmpty {
                records[t].dnsCacheHit = links[t].cacheHit
                records[t].dnsUpstream = links[t].upstream
                records[t].dnsServes = links[t].serves
                records[t].dnsServerSource = .packets
            }
            guard inbox != nil else { return (0, DnstapJoiner.Expired()) }
            let lost = state.dnstap.add(events, nowNs: nowNs)
            state.dnstap.annotate(&records[..<transactions.count], admitted: exported)
            var released = state.held[...]
            state.dnstap.annotate(&released)
            state.held.removeAll(keepingCapacity: true)
            let expired = state.dnstap.expire(nowNs: final ? nil : nowNs, nodeName: nodeName)
            var out: [FlowRecord] = []
            out.reserveCapacity(records.count + released.count + expired.records.count)
            for t in 0..<transactions.count {
                if !final && records[t].dnsServerSource != .dnstap && exported(records[t])
                    && state.held.count < Self.maxHeld
                {
                    state.held.append(records[t])
                } else {
                    out.append(records[t])
                }
            }
            out += records[transactions.count...]
            out += released
            out += expired.records
            records = out
            return (lost, expired)
        }
        if lost > 0 { dropped?.increment(by: Int64(lost)) }
        if expired.unanswered > 0 { unanswered?.increment(by: Int64(expired.unanswered)) }
    }
}

/// What the DNSServerSide feature adds to the agent: the evictor's pass and the dnstap listeners
/// `spec.agent.dnstap` names.
struct ServerSideServices {
    let pass: ServerSidePass?
    let listeners: [any Service]

    init(config: AgentConfig, nodeName: String, registry: PrometheusCollectorRegistry, logger: Logger) {
        guard config.features.contains(.dnsServerSide), let dnstap = config.dnstap else {
            pass = config.features.contains(.dnsServerSide) ? ServerSidePass(nodeName: nodeName) : nil
            listeners = []
            return
        }
        let inbox = DnstapInbox(capacity: dnstap.queueSize, registry: registry)
        var addresses: [DnstapListener.Address] = []
        if let path = dnstap.unixPath { addresses.append(.unix(path)) }
        if let host = dnstap.tcpHost, let port = dnstap.tcpPort { addresses.append(.tcp(host: host, port: port)) }
        pass = ServerSidePass(
            inbox: inbox, nodeName: nodeName, joinWindow: dnstap.joinWindow, capacity: dnstap.maxPending,
            registry: registry)
        listeners = addresses.map { DnstapListener(address: $0, inbox: inbox, logger: logger) }
    }
}
