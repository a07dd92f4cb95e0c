import DNSFlowCore
import DNSFlowProbe
import Logging
import Prometheus
import ServiceLifecycle

/// Gathers the DNS views the source decoded, and every `cacheActiveTimeout` joins them into
/// transactions (`StageJoiner`), turns those and the kernel's flows into records and hands them
/// to every exporter. On shutdown it flushes once more. When to do what is `EvictionSchedule`'s;
/// this carries it out on `clock`.
///
/// Memory stays bounded whatever the DNS rate: once a window holds `maxViewsPerWindow` views,
/// their transactions go out at once with zero counters, and their flows come out with the
/// packets at the window's end (sums stay right).
public struct FlowEvictor<Source: FlowSource, C: Clock>: Service where C.Duration == Duration {
    private let source: Source
    private let clock: C
    private let config: AgentConfig
    private let assembler: FlowAssembler
    private let exporters: [any FlowExporter]
    private let enricher: (any RecordEnriching)?
    private let health: DNSHealthPass?
    private let serverSide: ServerSidePass?
    private let drops: PacketDropPass?
    private let logger: Logger
    private let metrics: EvictorMetrics
    /// The source's views are counted this often, and the schedule ticked.
    private let drainInterval: Duration = .milliseconds(50)
    /// The views a window holds before they go out early; bench/README.md has what they weigh.
    public static var maxViewsPerWindow: Int { 4_096 }

    public init(
        source: Source, config: AgentConfig, nodeName: String, exporters: [any FlowExporter],
        enricher: (any RecordEnriching)? = nil, clock: C, registry: PrometheusCollectorRegistry, logger: Logger,
        health: DNSHealthPass? = nil,
        serverSide: ServerSidePass? = nil,
        drops: PacketDropPass? = nil
    ) {
        self.source = source
        self.clock = clock
        self.config = config
        self.assembler = FlowAssembler(nodeName: nodeName)
        self.exporters = exporters
        self.enricher = enricher
        self.health = health
        self.serverSide = serverSide
        self.drops = drops
        self.metrics = EvictorMetrics(registry: registry)
        self.logger = logger
    }

    public func run() async throws {
        // Timed-out queries not exported yet, when shutdown came.
        let (expired, joiner) = await cancelWhenGracefulShutdown { () async -> ([DNSView], StageJoiner) in
            var schedule = EvictionSchedule(
                intervals: .init(eviction: config.cacheActiveTimeout, dnsTimeout: config.dnsTimeout), now: clock.now)
            // The window's answered views wait in the source until they are exported: gathering
            // them here copied each (a retain and a release of its strings) every tick.
            var expired: [DNSView] = []
            var joiner = StageJoiner()
            while !Task.isCancelled {
                for action in schedule.tick(now: clock.now) { perform(action, expired: &expired, joiner: &joiner) }
                try? await clock.sleep(for: drainInterval)
            }
            return (expired, joiner)
        }
        source.drainEvents()
        var left = expired + source.expireQueries(timeout: config.dnsTimeout)
        var last = joiner
        evict(window(with: &left), joiner: &last, holdingRecent: false)
        logger.info("Flushed flows on shutdown")
    }

    private func perform(
        _ action: EvictionSchedule<C.Instant>.Action, expired: inout [DNSView], joiner: inout StageJoiner
    ) {
        switch action {
        case .expireQueries:
            expired.append(contentsOf: source.expireQueries(timeout: config.dnsTimeout))
        case .evict:
            evict(window(with: &expired), joiner: &joiner)
        case .exportIfFull:
            guard source.viewCount + expired.count >= Self.maxViewsPerWindow else { return }
            let views = window(with: &expired)
            metrics.record(views: views)
            let transactions = joiner.join(consume views, nowNs: WallClock.nowNs())
            export(assembler.records(transactions: transactions), of: transactions)
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

    /// `holdingRecent` false: the last window, where no transaction waits for another.
    private func evict(_ views: consuming [DNSView], joiner: inout StageJoiner, holdingRecent: Bool = true) {
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
        let transactions = joiner.join(consume views, nowNs: holdingRecent ? WallClock.nowNs() : nil)
        export(assembler.records(flows: flows, transactions: transactions), of: transactions, final: !holdingRecent)
    }

    /// `records` start with those of `transactions`, in their order; `final` in the last window.
    /// Consumed: the window's only reference, so enriching it in place copies nothing.
    private func export(_ records: consuming [FlowRecord], of transactions: [DNSTransaction], final: Bool = false) {
        let interfaces = config.interfaces
        var verdicts: [String: Bool] = [:]
        // A dnstap-only record was seen on no interface: the filter is not its to pass.
        let exported = { (record: FlowRecord) in
            interfaces.isEmpty || record.isDnstapOnly || interfaces.admits(record.interfaces, verdicts: &verdicts)
        }
        serverSide?.annotate(
            &records, transactions: transactions, final: final, nowNs: WallClock.nowNs(), exported: exported)
        enricher?.enrich(&records)
        let nowMs = final ? nil : WallClock.nowNs() / 1_000_000
        drops?.process(&records, drops: source.takeDrops(), lostTotal: source.lostDrops, nowMs: nowMs)
        health?.process(&records, nowMs: nowMs)
        if !interfaces.isEmpty { records.removeAll { !exported($0) } }
        for exporter in exporters { exporter.enqueue(records) }
    }
}

extension FlowEvictor where C == ContinuousClock {
    public init(
        source: Source, config: AgentConfig, nodeName: String, exporters: [any FlowExporter],
        enricher: (any RecordEnriching)? = nil, registry: PrometheusCollectorRegistry, logger: Logger,
        health: DNSHealthPass? = nil,
        serverSide: ServerSidePass? = nil,
        drops: PacketDropPass? = nil
    ) {
        self.init(
            source: source, config: config, nodeName: nodeName, exporters: exporters, enricher: enricher,
            clock: ContinuousClock(), registry: registry, logger: logger, health: health, serverSide: serverSide,
            drops: drops)
    }
}
