import DNSFlowCore
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// Every `interval`, the UDP socket health (`SocketHealth`) of each namespace DNS was seen in, read through
/// a process in it (`/proc/PID/net/…` are its namespace's), as gauges by namespace name. A namespace with no
/// process left is gone: its series go with it. Where nf_conntrack is loaded, the namespace's conntrack failures
/// (`ConntrackStats`, /proc/net/stat/nf_conntrack) beside them.
public final class SocketHealthMetrics: Service, Sendable {
    public static var interval: Duration { .seconds(5) }

    private struct Series {
        var gauges: [Gauge]
        /// Made once the namespace's conntrack file is read (the module may load later).
        var conntrack: [Gauge] = []
    }

    let namespaces: NamespaceProcesses
    private let registry: PrometheusCollectorRegistry
    private let logger: Logger
    private let proc: String
    private let series = Mutex<[UInt32: Series]>([:])
    /// Namespaces DNS was seen in, with their names.
    private let seen = Mutex<[UInt32: String]>([:])

    public init(
        namespaces: NamespaceProcesses, registry: PrometheusCollectorRegistry, proc: String = "/proc", logger: Logger
    ) {
        self.namespaces = namespaces
        self.registry = registry
        self.proc = proc
        self.logger = logger
    }

    /// Notes the namespaces the window's transactions crossed: the client's, the resolver's, the server's.
    func note(_ records: [FlowRecord]) {
        seen.withLock { seen in
            for record in records where record.isTransaction {
                for stage in record.dnsStages { seen[stage.netNs] = stage.netNsName ?? String(stage.netNs) }
            }
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.refresh()
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// Reads every noted namespace now.
    public func refresh() {
        for (netNs, name) in seen.withLock({ $0 }) {
            guard let pid = namespaces.pid(netNs: netNs),
                let sockstat = FileSystem.contents(of: "\(proc)/\(pid)/net/sockstat"),
                let snmp = FileSystem.contents(of: "\(proc)/\(pid)/net/snmp"),
                let health = SocketHealth(sockstat: sockstat[...], snmp: snmp[...])
            else {
                forget(netNs)
                continue
            }
            let values = [
                health.udpInUse, health.udpMemoryPages, health.inErrors, health.rcvbufErrors, health.noPorts,
                health.inCsumErrors,
            ]
            let gauges = series.withLock { series in
                if let known = series[netNs] { return known.gauges }
                let gauges = Self.metrics.map { metric in
                    registry.makeGauge(
                        descriptor: .named(metric.name, help: metric.help), labels: [("namespace", name)])
                }
                series[netNs] = Series(gauges: gauges)
                return gauges
            }
            for (gauge, value) in zip(gauges, values) { gauge.set(Double(value)) }
            // Absent without nf_conntrack: skipped.
            guard let text = FileSystem.contents(of: "\(proc)/\(pid)/net/stat/nf_conntrack", limit: 1 << 18),
                let conntrack = ConntrackStats(text: text[...])
            else { continue }
            let conntrackGauges = series.withLock { series in
                if let known = series[netNs]?.conntrack, !known.isEmpty { return known }
                let gauges = Self.conntrackMetrics.map { metric in
                    registry.makeGauge(
                        descriptor: .named(metric.name, help: metric.help), labels: [("namespace", name)])
                }
                series[netNs]?.conntrack = gauges
                return gauges
            }
            for (gauge, value) in zip(conntrackGauges, [conntrack.insertFailed, conntrack.drop]) {
                gauge.set(Double(value))
            }
        }
    }

    private func forget(_ netNs: UInt32) {
        seen.withLock { _ = $0.removeValue(forKey: netNs) }
        guard let gone = series.withLock({ $0.removeValue(forKey: netNs) }) else { return }
        for gauge in gone.gauges + gone.conntrack { registry.unregisterGauge(gauge) }
        logger.debug("Network namespace gone", metadata: ["dnsflow.netns": "\(netNs)"])
    }

    private static let metrics: [(name: String, help: String)] = [
        ("dnsflow_netns_udp_sockets", "UDP sockets in use in the namespace (/proc/net/sockstat)."),
        ("dnsflow_netns_udp_memory_pages", "Pages UDP sockets hold in the namespace (/proc/net/sockstat)."),
        ("dnsflow_netns_udp_in_errors", "The namespace's Udp InErrors (/proc/net/snmp), as the kernel counts it."),
        (
            "dnsflow_netns_udp_rcvbuf_errors",
            "The namespace's Udp RcvbufErrors (/proc/net/snmp): datagrams dropped at a full socket buffer."
        ),
        ("dnsflow_netns_udp_no_ports", "The namespace's Udp NoPorts (/proc/net/snmp): datagrams to no socket."),
        ("dnsflow_netns_udp_in_csum_errors", "The namespace's Udp InCsumErrors (/proc/net/snmp)."),
    ]

    private static let conntrackMetrics: [(name: String, help: String)] = [
        (
            "dnsflow_netns_conntrack_insert_failed",
            "The namespace's conntrack insert_failed (/proc/net/stat/nf_conntrack): entries lost to an insert race."
        ),
        (
            "dnsflow_netns_conntrack_drop",
            "The namespace's conntrack drop (/proc/net/stat/nf_conntrack): packets dropped at a full table."
        ),
    ]
}
