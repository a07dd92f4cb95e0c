import DNSFlowCore
import Prometheus
import Synchronization

/// The bounded queue between the dnstap listeners and the evictor's next window. A full one drops
/// what comes and counts it: a slow agent never stalls a resolver.
public final class DnstapInbox: Sendable {
    private let events: Mutex<[DnstapEvent]>
    private let capacity: Int
    private let received: Counter
    private let dropped: Counter
    private let bad: Counter

    public init(capacity: Int, registry: PrometheusCollectorRegistry) {
        self.capacity = capacity
        events = Mutex([])
        received = registry.makeCounter(
            descriptor: .named("dnsflow_dnstap_frames_total", help: "dnstap data frames read from resolvers."))
        dropped = registry.makeCounter(
            descriptor: .named(
                "dnsflow_dnstap_frames_dropped_total",
                help:
                    "dnstap frames dropped because the queue to the next window was full (spec.agent.dnstap.queueSize)."
            ))
        bad = registry.makeCounter(
            descriptor: .named(
                "dnsflow_dnstap_frames_bad_total", help: "dnstap frames that did not decode, skipped."))
    }

    /// Queues what fits of `batch`; `frames` data frames were read to make it, `badFrames` of them skipped.
    func offer(_ batch: [DnstapEvent], frames: Int, badFrames: Int) {
        let lost = events.withLock { events in
            let room = max(0, capacity - events.count)
            events.append(contentsOf: batch.prefix(room))
            return batch.count - min(room, batch.count)
        }
        received.increment(by: Int64(frames))
        if lost > 0 { dropped.increment(by: Int64(lost)) }
        if badFrames > 0 { bad.increment(by: Int64(badFrames)) }
    }

    /// Everything queued since the last call.
    func take() -> [DnstapEvent] {
        events.withLock { events in
            defer { events.removeAll(keepingCapacity: true) }
            return events
        }
    }
}
