import DNSFlowCore
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// The evictor's pass after the join: gives each window's transaction records their server side
/// (`DnsCacheHit`, `DnsUpstream`, `DnsServes`), from the packets (`UpstreamLinker`) and, where a
/// resolver sends dnstap, from the resolver's own word (`DnstapJoiner`), which wins.
public final class ServerSidePass: Sendable {
    private struct State {
        var linker = UpstreamLinker()
        var dnstap = DnstapJoiner()
        /// Transaction records of the last window that no dnstap message named yet.
        var held: [FlowRecord] = []
    }

    /// Resolvers flush their dnstap on a timer (unbound's and bind's: about a second), so a lookup's
    /// messages may come after its window: with dnstap on, a record no message named yet waits one
    /// window, at most this many.
    static let maxHeld = 65_536

    private let state = Mutex(State())
    /// What the dnstap listeners decoded since the last window.
    let inbox: DnstapInbox?

    public init(inbox: DnstapInbox? = nil) {
        self.inbox = inbox
    }

    /// `records` start with one record per transaction, in their order (`FlowAssembler`'s). With
    /// `final` (the last window) nothing waits.
    public func annotate(_ records: inout [FlowRecord], transactions: [DNSTransaction], final: Bool = false) {
        let events = inbox?.take() ?? []
        state.withLock { state in
            let links = state.linker.link(transactions)
            for t in links.indices where !links[t].isEmpty {
                records[t].dnsCacheHit = links[t].cacheHit
                records[t].dnsUpstream = links[t].upstream
                records[t].dnsServes = links[t].serves
                records[t].dnsServerSource = .packets
            }
            guard inbox != nil else { return }
            state.dnstap.add(events)
            state.dnstap.annotate(&records[..<transactions.count])
            var released = state.held[...]
            state.dnstap.annotate(&released)
            state.held.removeAll(keepingCapacity: true)
            var out: [FlowRecord] = []
            out.reserveCapacity(records.count + released.count)
            for t in 0..<transactions.count {
                if !final && records[t].dnsServerSource != .dnstap && state.held.count < Self.maxHeld {
                    state.held.append(records[t])
                } else {
                    out.append(records[t])
                }
            }
            out += records[transactions.count...]
            out += released
            records = out
        }
    }
}

/// What the DNSServerSide feature adds to the agent: the evictor's pass and the dnstap listeners
/// `spec.agent.dnstap` names.
struct ServerSideServices {
    let pass: ServerSidePass?
    let listeners: [any Service]

    init(config: AgentConfig, registry: PrometheusCollectorRegistry, logger: Logger) {
        guard config.features.contains(.dnsServerSide), let dnstap = config.dnstap else {
            pass = config.features.contains(.dnsServerSide) ? ServerSidePass() : nil
            listeners = []
            return
        }
        let inbox = DnstapInbox(capacity: dnstap.queueSize, registry: registry)
        var addresses: [DnstapListener.Address] = []
        if let path = dnstap.unixPath { addresses.append(.unix(path)) }
        if let host = dnstap.tcpHost, let port = dnstap.tcpPort { addresses.append(.tcp(host: host, port: port)) }
        pass = ServerSidePass(inbox: inbox)
        listeners = addresses.map { DnstapListener(address: $0, inbox: inbox, logger: logger) }
    }
}
