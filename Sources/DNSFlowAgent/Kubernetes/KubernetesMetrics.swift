import Prometheus

/// The API client's metrics, one series per watched resource (four, fixed).
final class KubernetesMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func listed(_ resource: String, count: Int) {
        counter("dnsflow_kubernetes_lists_total", resource, help: "Full lists of a resource from the API server.")
            .increment()
        registry.makeGauge(
            descriptor: .named("dnsflow_kubernetes_listed_objects", help: "Objects in the last list of a resource."),
            labels: [("resource", resource)]
        ).set(Double(count))
    }

    func watchEvent(_ resource: String) {
        counter("dnsflow_kubernetes_watch_events_total", resource, help: "Added, modified and deleted events watched.")
            .increment()
    }

    func gone(_ resource: String) {
        counter(
            "dnsflow_kubernetes_relists_total", resource,
            help: "Lists made again because the watched resource version expired (410 Gone)."
        ).increment()
    }

    func failed(_ resource: String) {
        counter(
            "dnsflow_kubernetes_request_failures_total", resource,
            help: "API requests that failed (server away, refused, bad answer); each is retried after a backoff."
        ).increment()
    }

    private func counter(_ name: String, _ resource: String, help: String) -> Counter {
        // The registry hands back the same counter for the same name and labels.
        registry.makeCounter(descriptor: .named(name, help: help), labels: [("resource", resource)])
    }
}
