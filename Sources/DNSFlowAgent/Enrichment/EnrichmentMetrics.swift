import Prometheus

/// The enrichment's metrics, created once with their help text.
struct EnrichmentMetrics: Sendable {
    /// Names pushed out of a full `ResolvedNames` while still within their TTL.
    let resolvedNamesEvicted: Counter
    /// Records whose requester's pod UID the Kubernetes cache did not know (yet).
    let unknownPods: Counter

    init(registry: PrometheusCollectorRegistry) {
        resolvedNamesEvicted = registry.makeCounter(
            descriptor: .named(
                "dnsflow_dns_resolved_names_evicted_total",
                help:
                    "Resolved names dropped within their TTL to make room (dnsTracking.resolvedNames full): flows to them get no DstDnsName."
            ))
        unknownPods = registry.makeCounter(
            descriptor: .named(
                "dnsflow_kubernetes_unknown_pods_total",
                help:
                    "Records whose requester's pod UID (from its cgroup) the Kubernetes cache did not know: named by address, or not at all."
            ))
    }
}
