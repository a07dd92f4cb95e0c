import DNSFlowCore
import Prometheus
import Synchronization

/// PacketDrop's pass over a window's records: the DNS packets the kernel dropped, counted by reason in
/// `dnsflow_dns_packet_drops_total{reason}` and put on their transactions (`DropLinker`).
public final class PacketDropPass: Sendable {
    private let linker: Mutex<DropLinker>
    private let registry: PrometheusCollectorRegistry
    /// By reason: at most the kernel's `enum skb_drop_reason`, a few hundred.
    private let byReason = Mutex<[String: Counter]>([:])
    private let lost: Counter
    private let lostSeen = Atomic<Int>(0)

    /// `hold`: how long a drop waits for its transaction (a dropped query's times out a DNS timeout later).
    public init(hold: Duration, registry: PrometheusCollectorRegistry) {
        self.linker = Mutex(DropLinker(hold: hold))
        self.registry = registry
        self.lost = registry.makeCounter(
            descriptor: .named(
                "dnsflow_dns_packet_drops_lost_total",
                help: "DNS packet drops lost in user space because the evictor fell behind."))
    }

    /// `lostTotal`: the source's running total of drops it could not keep. `nowMs` nil: the last window.
    public func process(_ records: inout [FlowRecord], drops: [DNSDrop], lostTotal: Int, nowMs: Int64?) {
        for drop in drops { counter(drop.reason).increment() }
        let grown = lostTotal - lostSeen.exchange(lostTotal, ordering: .relaxed)
        if grown > 0 { lost.increment(by: Int64(grown)) }
        linker.withLock { $0.link(&records, drops: drops, nowMs: nowMs) }
    }

    private func counter(_ reason: String) -> Counter {
        byReason.withLock { counters in
            if let counter = counters[reason] { return counter }
            let counter = registry.makeCounter(
                descriptor: .named(
                    "dnsflow_dns_packet_drops_total",
                    help: "DNS packets the kernel dropped (kfree_skb), by its drop reason."),
                labels: [("reason", reason)])
            counters[reason] = counter
            return counter
        }
    }
}
