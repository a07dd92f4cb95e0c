import Prometheus

extension MetricNameDescriptor {
    /// A metric by its whole name, as `/metrics` shows it, with the help text Prometheus wants.
    static func named(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
