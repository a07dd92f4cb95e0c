import NIOConcurrencyHelpers
import Prometheus

/// Doubling waits between delivery attempts, from 100 ms up to a cap.
struct Backoff {
    let maximum: Duration
    private var current: Duration = .milliseconds(100)

    init(maximum: Duration) { self.maximum = maximum }

    mutating func next() -> Duration {
        defer { current = min(current * 2, maximum) }
        return min(current, maximum)
    }
}

/// Sent and dropped records, readable by tests and mirrored to the registry with fixed labels.
struct ExportCounters: Sendable {
    private let counts = NIOLockedValueBox((sent: 0, dropped: 0))
    private let sentTotal: Counter
    private let droppedTotal: Counter

    init(exporter: String, registry: PrometheusCollectorRegistry) {
        let labels = [("exporter", exporter)]
        sentTotal = registry.makeCounter(
            descriptor: .named("dnsflow_exporter_records_sent_total", help: "Records an exporter delivered."),
            labels: labels)
        droppedTotal = registry.makeCounter(
            descriptor: .named(
                "dnsflow_exporter_records_dropped_total",
                help: "Records an exporter dropped: buffer full, or the receiver gone at shutdown."),
            labels: labels)
    }

    var sent: Int { counts.withLockedValue { $0.sent } }
    var dropped: Int { counts.withLockedValue { $0.dropped } }

    func send(_ count: Int) {
        guard count > 0 else { return }
        counts.withLockedValue { $0.sent += count }
        sentTotal.increment(by: Int64(count))
    }

    func drop(_ count: Int) {
        guard count > 0 else { return }
        counts.withLockedValue { $0.dropped += count }
        droppedTotal.increment(by: Int64(count))
    }
}
