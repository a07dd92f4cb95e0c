import DNSFlowCore
import Prometheus

/// `dnsflow_dns_lookups_total{namespace, rcode}` and `dnsflow_dns_lookup_latency_seconds{namespace}`:
/// lookups (one per transaction, where `dnsflow_dns_latency_seconds` counts every namespace's
/// view of it) by the Kubernetes namespace of the pod that asked. Never by pod or name (cardinality):
/// the first `maxNamespaces` namespaces get their own series, later ones share `~other`; a
/// lookup from no known pod counts as `~none`.
final class NamespaceDNSMetrics {
    static let other = "~other"
    static let none = "~none"

    private struct Key: Hashable {
        var namespace: String
        var rcode: String
    }

    let maxNamespaces: Int
    private let registry: PrometheusCollectorRegistry
    private var namespaces: Set<String> = []
    private var lookups: [Key: Counter] = [:]
    private var latencies: [String: DurationHistogram] = [:]

    init(registry: PrometheusCollectorRegistry, maxNamespaces: Int = 100) {
        self.registry = registry
        self.maxNamespaces = maxNamespaces
    }

    /// Counts one transaction's record. Called under the enricher's lock.
    func count(_ record: FlowRecord) {
        let namespace = label(record.srcK8S?.kind == .pod ? record.srcK8S?.namespace : nil)
        let rcode =
            record.dnsFlagsResponseCode?.name ?? (record.dnsErrno == DNSErrno.timedOut ? "Timeout" : "NoResponse")
        let key = Key(namespace: namespace, rcode: rcode)
        let counter =
            lookups[key]
            ?? registry.makeCounter(
                descriptor: .named(
                    "dnsflow_dns_lookups_total",
                    help: "DNS lookups by the Kubernetes namespace of the pod that asked and the response code."),
                labels: [("namespace", namespace), ("rcode", rcode)])
        lookups[key] = counter
        counter.increment()
        guard let latency = record.dnsLatencyNs else { return }
        let histogram =
            latencies[namespace]
            ?? registry.makeDurationHistogram(
                descriptor: .named(
                    "dnsflow_dns_lookup_latency_seconds",
                    help: "DNS lookup latency, query to response, by the Kubernetes namespace of the pod that asked."),
                labels: [("namespace", namespace)], buckets: EvictorMetrics.latencyBuckets)
        latencies[namespace] = histogram
        histogram.record(.nanoseconds(Int64(clamping: latency)))
    }

    private func label(_ namespace: String?) -> String {
        guard let namespace, !namespace.isEmpty else { return Self.none }
        if namespaces.contains(namespace) { return namespace }
        guard namespaces.count < maxNamespaces else { return Self.other }
        namespaces.insert(namespace)
        return namespace
    }
}
