import DNSFlowCore
import Prometheus
import Synchronization

/// DNS health's passes over a window's records, after enrichment: retries linked to the queries they
/// asked again (`RetryLinker`), then the resolutions a search list expanded (`SearchExpansionGrouper`),
/// added as records of their own and counted in `dnsflow_dns_search_expansions_total{namespace, outcome}`.
/// The namespaces seen go to `SocketHealthMetrics`. Clients that look like tunnelling (`TunnelDetector`) make
/// `dnsAlert` records and `dnsflow_dns_tunnel_suspects{namespace}`.
public final class DNSHealthPass: Sendable {
    private struct State {
        var retries = RetryLinker()
        var expansions = SearchExpansionGrouper()
        var tunnels: TunnelDetector
    }

    private let state: Mutex<State>
    private let metrics: DNSHealthMetrics
    private let sockets: SocketHealthMetrics

    /// `sockets` is told the namespaces DNS is seen in; its processes give the namespaces' resolv.conf.
    public init(
        sockets: SocketHealthMetrics, suffixes: PublicSuffixList, thresholds: TunnelDetector.Thresholds,
        registry: PrometheusCollectorRegistry
    ) {
        self.state = Mutex(State(tunnels: TunnelDetector(suffixes: suffixes, thresholds: thresholds)))
        self.sockets = sockets
        self.metrics = DNSHealthMetrics(registry: registry)
    }

    /// `nowMs` nil: the last window, where every resolution goes out.
    public func process(_ records: inout [FlowRecord], nowMs: Int64?) {
        sockets.note(records)
        let namespaces = sockets.namespaces
        let (resolutions, alerts) = state.withLock { state in
            state.retries.link(&records)
            let resolutions = state.expansions.resolutions(of: records, nowMs: nowMs) {
                namespaces.searchList(netNs: $0)
            }
            return (resolutions, state.tunnels.alerts(of: records))
        }
        for resolution in resolutions {
            metrics.searchExpansion(namespace: DNSHealthMetrics.namespace(of: resolution.record), resolution.outcome)
        }
        metrics.tunnelSuspects(alerts, nowMs: nowMs ?? Int64.max)
        records.append(contentsOf: resolutions.map(\.record))
        records.append(contentsOf: alerts)
    }
}

/// DNS health's metrics, labelled by namespace name (its inode when it has none): one series per
/// namespace DNS is seen in, made as it is first seen.
final class DNSHealthMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let expansions = Mutex<[String: Counter]>([:])
    /// By namespace: its gauge, and when each of its suspects was flagged.
    private let suspects = Mutex<[String: (gauge: Gauge, flaggedMs: [Int64])]>([:])
    /// A suspect counts this long after it was flagged.
    static let suspectLifetimeMs: Int64 = 60_000

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    static func namespace(of record: FlowRecord) -> String { record.netNsName ?? String(record.netNs) }

    func searchExpansion(namespace: String, _ outcome: SearchExpansionGrouper.Outcome) {
        let key = "\(namespace)\u{0}\(outcome.rawValue)"
        let counter = expansions.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(
                descriptor: .named(
                    "dnsflow_dns_search_expansions_total",
                    help: "Resolutions the search list expanded into several names, by namespace and outcome."),
                labels: [("namespace", namespace), ("outcome", outcome.rawValue)])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// Clients flagged within the last minute, by namespace.
    func tunnelSuspects(_ alerts: [FlowRecord], nowMs: Int64) {
        suspects.withLock { suspects in
            for alert in alerts {
                let namespace = Self.namespace(of: alert)
                if suspects[namespace] == nil {
                    let gauge = registry.makeGauge(
                        descriptor: .named(
                            "dnsflow_dns_tunnel_suspects",
                            help: "Clients flagged as DNS tunnelling within the last minute, by namespace."),
                        labels: [("namespace", namespace)])
                    suspects[namespace] = (gauge, [])
                }
                suspects[namespace]!.flaggedMs.append(alert.timeFlowEndMs)
            }
            for (namespace, entry) in suspects {
                let recent = entry.flaggedMs.filter { nowMs == .max || nowMs - $0 < Self.suspectLifetimeMs }
                suspects[namespace]!.flaggedMs = recent
                entry.gauge.set(Double(recent.count))
            }
        }
    }
}
