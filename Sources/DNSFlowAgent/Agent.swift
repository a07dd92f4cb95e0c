import AsyncHTTPClient
import DNSFlowCore
import DNSFlowProbe
import Logging
import Prometheus
import ServiceLifecycle

/// The per-node agent: the BPF probe, its evictor and the exporters, as services for one group.
public struct Agent: Sendable {
    public let probe: BPFProbe
    public let services: [any Service]

    /// Loads the BPF program; the services attach it and start exporting when run.
    /// - Parameter metrics: the registry the agent's metrics are made in; its text is served on
    ///   `spec.agent.metrics.port`. Nil serves no endpoint.
    public init(
        config: AgentConfig, nodeName: String, extraExporters: [any FlowExporter] = [],
        metrics: PrometheusCollectorRegistry? = nil, logger: Logger
    ) throws {
        // Before the threads that would each take an arena of their own start allocating.
        ProcessMemory.limitArenas()
        let registry = metrics ?? PrometheusCollectorRegistry()
        var exporters: [any FlowExporter] = extraExporters
        for exporter in config.exporters {
            switch exporter {
            case .http(let http): exporters.append(HTTPExporter(config: http, registry: registry, logger: logger))
            case .ipfix(let ipfix): exporters.append(IPFIXExporter(config: ipfix, registry: registry, logger: logger))
            case .stdout: exporters.append(StdoutExporter(registry: registry))
            }
        }
        probe = try BPFProbe(settings: config.probeSettings, logger: logger)
        // libbpf's parse of the kernel's BTF was freed with the load: hand it back, and
        // the executable's pages that loading read (the evictor does it again once running).
        ProcessMemory.trim()
        ProcessMemory.releaseStartupPages()
        let netNsNames = NetNsNames(logger: logger)
        let kubernetes = try KubernetesWatcher.make(
            settings: config.kubernetes, nodeName: nodeName, registry: registry, logger: logger)
        let enricher = RecordEnricher(
            netNsNames: netNsNames, cgroupPaths: CgroupPaths(logger: logger), resolvedNames: config.resolvedNames,
            kubernetes: kubernetes?.cache, registry: registry)
        let dnstap = ServerSideServices(config: config, nodeName: nodeName, registry: registry, logger: logger)
        let sockets =
            config.features.contains(.dnsHealth)
            ? SocketHealthMetrics(namespaces: NamespaceProcesses(), registry: registry, logger: logger) : nil
        let evictor = FlowEvictor(
            source: probe, config: config, nodeName: nodeName, exporters: exporters, enricher: enricher,
            registry: registry, logger: logger,
            health: sockets.map {
                DNSHealthPass(
                    sockets: $0, suffixes: PublicSuffixList.installed(logger: logger),
                    thresholds: config.tunnelThresholds, registry: registry)
            }, serverSide: dnstap.pass,
            drops: probe.tracksDrops
                ? PacketDropPass(hold: config.dnsTimeout + config.cacheActiveTimeout * 2, registry: registry) : nil)
        // A group shuts down in reverse order: the metrics endpoint, then the evictor flushes,
        // then the probe detaches, then the exporters deliver what the evictor flushed, and the
        // namespace names the flush used stop refreshing last.
        let probe = self.probe
        let endpoint = metrics.map { registry in
            MetricsEndpoint(port: Int(config.metricsPort), registry: registry, logger: logger) { probe.isAttached }
        }
        var services: [any Service] = [netNsNames]
        if let kubernetes { services.append(kubernetes) }
        if let sockets { services.append(sockets) }
        services += exporters as [any Service]
        services += [probe, evictor] as [any Service]
        if let endpoint { services.append(endpoint) }
        services += dnstap.listeners as [any Service]
        self.services = services
    }
}
