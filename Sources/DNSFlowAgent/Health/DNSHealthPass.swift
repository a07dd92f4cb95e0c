import DNSFlowCore
import Prometheus
import Synchronization

/// DNS health's passes over a window's records, after enrichment: retries linked to the queries they
/// asked again (`RetryLinker`), then the resolutions a search list expanded (`SearchExpansionGrouper`),
/// added as records of their own and counted in `dnsflow_dns_search_expansions_total{namespace, outcome}`.
/// The namespaces seen go to `SocketHealthMetrics`.
public final class DNSHealthPass: Sendable {
    private struct State {
        var retries = RetryLinker()
        var expansions = SearchExpansionGrouper()
    }

    private let state = Mutex(State())
    private let metrics: DNSHealthMetrics
    private let sockets: SocketHealthMetrics

    /// `sockets` is told the namespaces DNS is seen in; its processes give the namespaces' resolv.conf.
    public init(sockets: SocketHealthMetrics, registry: PrometheusCollectorRegistry) {
        self.sockets = sockets
        self.metrics = DNSHealthMetrics(registry: registry)
    }

    /// `nowMs` nil: the last window, where every resolution goes out.
    public func process(_ records: inout [FlowRecord], nowMs: Int64?) {
        sockets.note(records)
        let namespaces = sockets.namespaces
        let resolutions = state.withLock { state in
            state.retries.link(&records)
            return state.expansions.resolutions(of: records, nowMs: nowMs) { namespaces.searchList(netNs: $0) }
        }
        for resolution in resolutions {
            metrics.searchExpansion(namespace: DNSHealthMetrics.namespace(of: resolution.record), resolution.outcome)
        }
        records.append(contentsOf: resolutions.map(\.record))
    }
}

/// DNS health's metrics, labelled by namespace name (its inode when it has none): one series per
/// namespace DNS is seen in, made as it is first seen.
final class DNSHealthMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let expansions = Mutex<[String: Counter]>([:])

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
}
