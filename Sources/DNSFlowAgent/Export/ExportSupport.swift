import Metrics
import NIOConcurrencyHelpers

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

/// Sent and dropped records, readable by tests and mirrored to swift-metrics with fixed labels.
struct ExportCounters: Sendable {
    private let counts = NIOLockedValueBox((sent: 0, dropped: 0))
    private let sentTotal: Counter
    private let droppedTotal: Counter

    init(exporter: String) {
        sentTotal = Counter(label: "dnsflow_exporter_records_sent_total", dimensions: [("exporter", exporter)])
        droppedTotal = Counter(label: "dnsflow_exporter_records_dropped_total", dimensions: [("exporter", exporter)])
    }

    var sent: Int { counts.withLockedValue { $0.sent } }
    var dropped: Int { counts.withLockedValue { $0.dropped } }

    func send(_ count: Int) {
        guard count > 0 else { return }
        counts.withLockedValue { $0.sent += count }
        sentTotal.increment(by: count)
    }

    func drop(_ count: Int) {
        guard count > 0 else { return }
        counts.withLockedValue { $0.dropped += count }
        droppedTotal.increment(by: count)
    }
}
