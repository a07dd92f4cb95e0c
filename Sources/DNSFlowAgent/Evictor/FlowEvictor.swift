import DNSFlowCore
import DNSFlowProbe
import Logging
import Prometheus
import ServiceLifecycle

/// Gathers the DNS views the source decoded, and every `cacheActiveTimeout` turns them and the
/// kernel's flows into records and hands them to every exporter. On shutdown it flushes once
/// more. When to do what is `EvictionSchedule`'s; this carries it out on `clock`.
///
/// Memory stays bounded whatever the DNS rate: once a window holds `maxViewsPerWindow` views,
/// they go out at once as records of their own, with zero counters, and their flows come out
/// plain at the window's end (sums stay right; every id still has its records on both sides).
public struct FlowEvictor<Source: FlowSource, C: Clock>: Service where C.Duration == Duration {
    private let source: Source
    private let clock: C
    private let config: AgentConfig
    private let assembler: FlowAssembler
    private let exporters: [any FlowExporter]
    private let enricher: (any RecordEnriching)?
    private let logger: Logger
    private let metrics: EvictorMetrics
    /// The source's views are counted this often, and the schedule ticked.
    private let drainInterval: Duration = .milliseconds(50)
    /// The views a window holds before they go out early; bench/README.md has what they weigh.
    public static var maxViewsPerWindow: Int { 4_096 }

    public init(
        source: Source, config: AgentConfig, nodeName: String, exporters: [any FlowExporter],
        enricher: (any RecordEnriching)? = nil, clock: C, registry: PrometheusCollectorRegistry, logger: Logger
    ) {
        self.source = source
        self.clock = clock
        self.config = config
        self.assembler = FlowAssembler(nodeName: nodeName)
        self.exporters = exporters
        self.enricher = enricher
        self.metrics = EvictorMetrics(registry: registry)
        self.logger = logger
    }

    public func run() async throws {
        // Timed-out queries not exported yet, when shutdown came.
        let expired = await cancelWhenGracefulShutdown { () async -> [DNSView] in
            var schedule = EvictionSchedule(
                intervals: .init(eviction: config.cacheActiveTimeout, dnsTimeout: config.dnsTimeout), now: clock.now)
            // The window's answered views wait in the source until they are exported: gathering
            // them here copied each (a retain and a release of its strings) every tick.
            var expired: [DNSView] = []
            while !Task.isCancelled {
                for action in schedule.tick(now: clock.now) { perform(action, expired: &expired) }
                try? await clock.sleep(for: drainInterval)
            }
            return expired
        }
        source.drainEvents()
        var left = expired + source.expireQueries(timeout: config.dnsTimeout)
        evict(window(with: &left))
        logger.info("Flushed flows on shutdown")
    }

    private func perform(_ action: EvictionSchedule<C.Instant>.Action, expired: inout [DNSView]) {
        switch action {
        case .expireQueries:
            expired.append(contentsOf: source.expireQueries(timeout: config.dnsTimeout))
        case .evict:
            evict(window(with: &expired))
        case .exportIfFull:
            guard source.viewCount + expired.count >= Self.maxViewsPerWindow else { return }
            let views = window(with: &expired)
            metrics.record(views: views)
            export(assembler.records(views: views))
        case .releaseStartupPages:
            ProcessMemory.releaseStartupPages()
        case .trimHeap:
            // What assembling the records took (views, dictionaries, the records filtered out)
            // is free by now.
            ProcessMemory.trim()
        }
    }

    /// The views the source holds, and the timed-out queries.
    private func window(with expired: inout [DNSView]) -> [DNSView] {
        var views = source.takeViews()
        views.append(contentsOf: expired)
        expired.removeAll(keepingCapacity: true)
        return views
    }

    private func evict(_ views: [DNSView]) {
        let flows: [FlowSample]
        do {
            flows = try source.evictFlows()
        } catch {
            logger.error("Evicting flows failed", metadata: ["dnsflow.error": "\(error)"])
            return
        }
        metrics.record(views: views)
        metrics.record(flows: flows.count, source: source)
        logger.debug("Evicted", metadata: ["dnsflow.flows": "\(flows.count)", "dnsflow.dns_views": "\(views.count)"])
        export(assembler.records(flows: flows, views: views))
    }

    private func export(_ records: [FlowRecord]) {
        var records = records
        enricher?.enrich(&records)
        if !config.interfaces.isEmpty {
            var verdicts: [String: Bool] = [:]
            records.removeAll { !config.interfaces.admits($0.interfaces, verdicts: &verdicts) }
        }
        for exporter in exporters { exporter.enqueue(records) }
    }
}

extension FlowEvictor where C == ContinuousClock {
    public init(
        source: Source, config: AgentConfig, nodeName: String, exporters: [any FlowExporter],
        enricher: (any RecordEnriching)? = nil, registry: PrometheusCollectorRegistry, logger: Logger
    ) {
        self.init(
            source: source, config: config, nodeName: nodeName, exporters: exporters, enricher: enricher,
            clock: ContinuousClock(), registry: registry, logger: logger)
    }
}
