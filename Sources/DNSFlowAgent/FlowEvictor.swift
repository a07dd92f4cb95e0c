import DNSFlowCore
import DNSFlowProbe
import Logging
import Metrics
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Gathers the DNS views the probe's pump decoded, and every `cacheActiveTimeout` turns them and
/// the kernel's flows into records and hands them to every exporter. On shutdown it flushes once
/// more.
///
/// Memory stays bounded whatever the DNS rate: once a window holds `maxViewsPerWindow` views,
/// they go out at once as records of their own, with zero counters, and their flows come out
/// plain at the window's end (sums stay right; every id still has its records on both sides).
public struct FlowEvictor: Service {
    private let probe: BPFProbe
    private let config: AgentConfig
    private let assembler: FlowAssembler
    private let exporters: [any FlowExporter]
    private let logger: Logger
    private let metrics = EvictorMetrics()
    /// The pump's views are counted, and unanswered queries looked for, this often.
    private let drainInterval: Duration = .milliseconds(50)
    /// Freed heap goes back to the kernel this often. Trimmed after each of the ~10 exports a
    /// second at 20k queries/s, the pages faulted straight back in: 13% of the agent's CPU.
    /// Trimming once a second saved ~1 point more of a core, but held 4-8 MiB more at the
    /// unlimited rate.
    private let trimInterval: Duration = .milliseconds(250)
    /// ~0.6 MB of views, and ~1 MB of the records made of them: at 20k DNS transactions/s seen in
    /// two namespaces, ~100 ms of them.
    public static let maxViewsPerWindow = 4_096
    /// Unanswered queries are expired this often, not only at evictions: until a query expires,
    /// its id and 5-tuple reused are taken for its retransmission and timed from it.
    private var expiryInterval: Duration {
        min(max(config.dnsTimeout / 10, .milliseconds(100)), config.cacheActiveTimeout)
    }

    public init(probe: BPFProbe, config: AgentConfig, nodeName: String, exporters: [any FlowExporter], logger: Logger) {
        self.probe = probe
        self.config = config
        self.assembler = FlowAssembler(nodeName: nodeName)
        self.exporters = exporters
        self.logger = logger
    }

    public func run() async throws {
        // Timed-out queries not exported yet, when shutdown came.
        let expired = await cancelWhenGracefulShutdown { () async -> [DNSView] in
            let clock = ContinuousClock()
            var nextEviction = clock.now + config.cacheActiveTimeout
            var nextExpiry = clock.now + expiryInterval
            var nextTrim = clock.now + trimInterval
            // The window's answered views wait in the probe until they are exported: gathering
            // them here copied each (a retain and a release of its strings) every 50 ms.
            var expired: [DNSView] = []
            var startupPagesReleased = false
            while !Task.isCancelled {
                if clock.now >= nextExpiry {
                    expired.append(contentsOf: probe.expireQueries(timeout: config.dnsTimeout))
                    nextExpiry = clock.now + expiryInterval
                }
                if clock.now >= nextEviction {
                    evict(window(with: &expired))
                    nextEviction = clock.now + config.cacheActiveTimeout
                    // By the first eviction every service has started and exported.
                    if !startupPagesReleased {
                        ProcessMemory.releaseStartupPages()
                        startupPagesReleased = true
                    }
                } else if probe.viewCount + expired.count >= Self.maxViewsPerWindow {
                    let views = window(with: &expired)
                    metrics.record(views: views)
                    export(assembler.records(views: views))
                }
                if clock.now >= nextTrim {
                    // What assembling the records took (views, dictionaries, the records
                    // filtered out) is free by now.
                    ProcessMemory.trim()
                    nextTrim = clock.now + trimInterval
                }
                try? await Task.sleep(for: drainInterval)
            }
            return expired
        }
        probe.drainEvents()
        var left = expired + probe.expireQueries(timeout: config.dnsTimeout)
        evict(window(with: &left))
        logger.info("Flushed flows on shutdown")
    }

    /// The views the probe holds, and the timed-out queries.
    private func window(with expired: inout [DNSView]) -> [DNSView] {
        var views = probe.takeViews()
        views.append(contentsOf: expired)
        expired.removeAll(keepingCapacity: true)
        return views
    }

    private func evict(_ views: [DNSView]) {
        let flows: [FlowSample]
        do {
            flows = try probe.evictFlows()
        } catch {
            logger.error("Evicting flows failed", metadata: ["dnsflow.error": "\(error)"])
            return
        }
        metrics.record(views: views)
        metrics.record(flows: flows.count, probe: probe)
        logger.debug("Evicted", metadata: ["dnsflow.flows": "\(flows.count)", "dnsflow.dns_views": "\(views.count)"])
        export(assembler.records(flows: flows, views: views))
    }

    private func export(_ records: [FlowRecord]) {
        var records = records
        if !config.interfaces.isEmpty {
            var verdicts: [String: Bool] = [:]
            records.removeAll { !config.interfaces.admits($0.interfaces, verdicts: &verdicts) }
        }
        for exporter in exporters { exporter.enqueue(records) }
    }
}

/// The agent's own metrics: created once, with fixed labels. Kernel counters are cumulative, so
/// each eviction adds what they grew by.
final class EvictorMetrics: Sendable {
    private let flowsEvicted = Counter(label: "dnsflow_flows_evicted_total")
    private let flowMapEntries = Gauge(label: "dnsflow_kernel_flow_map_entries")
    private let pendingQueries = Gauge(label: "dnsflow_kernel_dns_pending_queries")
    private let timeouts = Counter(label: "dnsflow_dns_timeouts_total")
    private let orphans = Counter(label: "dnsflow_dns_orphan_responses_total")
    private let eventsDropped = Counter(label: "dnsflow_dns_events_dropped_total")
    private let badQuestions = Counter(label: "dnsflow_dns_bad_questions_total")
    private let latency = Timer(label: "dnsflow_dns_latency_seconds", preferredDisplayUnit: .seconds)
    private let transactions: [String: Counter]
    private let kernel: [KernelCounter: Counter]
    private let last = NIOLockedValueBox<[String: UInt64]>([:])

    init() {
        transactions = Dictionary(uniqueKeysWithValues: (0...10).map { code in
            let name = DNSResponseCode(rawValue: UInt8(code)).name
            return (name, Counter(label: "dnsflow_dns_transactions_total", dimensions: [("rcode", name)]))
        })
        kernel = Dictionary(uniqueKeysWithValues: KernelCounter.allCases.map { counter in
            (counter, Counter(label: "dnsflow_kernel_events_total", dimensions: [("reason", counter.reason)]))
        })
    }

    func record(views: [DNSView]) {
        // Counted here and added once per call: a counter per view (and a dictionary lookup by
        // rcode name) cost more than the rest of this loop. Views are read in place, not copied.
        var answeredByRcode = [Int](repeating: 0, count: 16)
        var (badQuestionCount, timeoutCount, orphanCount) = (0, 0, 0)
        for index in views.indices {
            if views[index].question == nil { badQuestionCount += 1 }
            switch views[index].outcome {
            case .answered(let latencyNs):
                latency.recordNanoseconds(Int64(latencyNs))
                answeredByRcode[Int(views[index].flags & 0x0f)] += 1
            case .timedOut:
                timeoutCount += 1
            case .orphan:
                orphanCount += 1
            }
        }
        for (rcode, count) in answeredByRcode.enumerated() where count > 0 {
            transactions[DNSResponseCode(rawValue: UInt8(rcode)).name]?.increment(by: count)
        }
        if badQuestionCount > 0 { badQuestions.increment(by: badQuestionCount) }
        if timeoutCount > 0 { timeouts.increment(by: timeoutCount) }
        if orphanCount > 0 { orphans.increment(by: orphanCount) }
    }

    func record(flows: Int, probe: BPFProbe) {
        flowsEvicted.increment(by: flows)
        flowMapEntries.record(flows)
        pendingQueries.record(probe.pendingQueryCount())
        eventsDropped.increment(by: Int(growth("user.events_dropped", UInt64(probe.droppedEvents))))
        for (counter, value) in probe.counters() {
            kernel[counter]?.increment(by: Int(growth("kernel.\(counter.reason)", value)))
        }
        for program in probe.programStats() {
            let runs = growth("runs.\(program.name)", program.runCount)
            let time = growth("time.\(program.name)", program.runTimeNs)
            guard runs > 0 else { continue }
            Counter(label: "dnsflow_bpf_runs_total", dimensions: [("program", program.name)]).increment(by: Int(runs))
            FloatingPointCounter(label: "dnsflow_bpf_run_time_seconds_total", dimensions: [("program", program.name)])
                .increment(by: Double(time) / 1e9)
        }
    }

    private func growth(_ key: String, _ value: UInt64) -> UInt64 {
        last.withLockedValue { last in
            defer { last[key] = value }
            return value &- (last[key] ?? 0)
        }
    }
}
