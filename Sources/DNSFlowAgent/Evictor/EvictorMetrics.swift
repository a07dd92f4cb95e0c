import DNSFlowCore
import DNSFlowProbe
import NIOConcurrencyHelpers
import Prometheus

/// The evictor's metrics: created once, with fixed labels and their help text. Kernel counters
/// are cumulative, so each eviction adds what they grew by.
final class EvictorMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let flowsEvicted: Counter
    private let flowMapEntries: Gauge
    private let pendingQueries: Gauge
    private let timeouts: Counter
    private let orphans: Counter
    private let badQuestions: Counter
    private let latency: DurationHistogram
    /// By response code, 0 to 10: the codes with a name.
    private let transactions: [Counter]
    private let cumulative: NIOLockedValueBox<Cumulative>

    /// Counters the source keeps as running totals, with the totals last seen.
    private struct Cumulative {
        var eventsDropped: Growth
        var badAnswerSections: Growth
        var kernel: [KernelCounter: Growth]
        /// By program name, each made when the program first shows runs.
        var programs: [String: (runs: Growth, time: Growth)] = [:]
    }

    private struct Growth {
        let counter: Counter
        /// A total in nanoseconds, added as seconds.
        var nanoseconds = false
        var last: UInt64 = 0

        mutating func advance(to total: UInt64) {
            defer { last = total }
            let grown = total &- last
            guard grown > 0 else { return }
            if nanoseconds {
                counter.increment(by: Double(grown) / 1e9)
            } else {
                counter.increment(by: Int64(grown))
            }
        }
    }

    /// DNS latency buckets from 100 µs to 5 s.
    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
    ]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        func counter(_ name: String, _ labels: [(String, String)] = [], help: String) -> Counter {
            registry.makeCounter(descriptor: .named(name, help: help), labels: labels)
        }
        func gauge(_ name: String, help: String) -> Gauge {
            registry.makeGauge(descriptor: .named(name, help: help))
        }
        flowsEvicted = counter("dnsflow_flows_evicted_total", help: "Flows evicted from the kernel flow map.")
        flowMapEntries = gauge("dnsflow_kernel_flow_map_entries", help: "Flows in the kernel map at the last eviction.")
        pendingQueries = gauge(
            "dnsflow_kernel_dns_pending_queries", help: "DNS queries waiting for their response in the kernel.")
        timeouts = counter(
            "dnsflow_dns_timeouts_total", help: "DNS queries with no response within dnsTracking.timeout.")
        orphans = counter("dnsflow_dns_orphan_responses_total", help: "DNS responses with no query seen.")
        badQuestions = counter(
            "dnsflow_dns_bad_questions_total",
            help: "DNS views whose question did not decode (bad label, name over 255, pointer, cut short): no DnsName.")
        latency = registry.makeDurationHistogram(
            descriptor: .named(
                "dnsflow_dns_latency_seconds", help: "DNS latency, query to response, per namespace view."),
            labels: [], buckets: Self.latencyBuckets)
        transactions = (0...10).map { code in
            counter(
                "dnsflow_dns_transactions_total", [("rcode", DNSResponseCode(rawValue: UInt8(code)).name)],
                help: "Answered DNS transaction views by response code.")
        }
        let eventsDropped = counter(
            "dnsflow_dns_events_dropped_total",
            help: "DNS events dropped in user space because the evictor fell behind.")
        let kernel = Dictionary(
            uniqueKeysWithValues: KernelCounter.allCases.map { kernelCounter in
                let metric = counter(
                    "dnsflow_kernel_events_total", [("reason", kernelCounter.reason)],
                    help: "Kernel-side packet events by reason; all but packets mean data skipped or dropped.")
                return (kernelCounter, Growth(counter: metric))
            })
        let badAnswerSections = counter(
            "dnsflow_dns_bad_answer_sections_total",
            help: "DNS responses whose answer section did not decode (bad record, pointer loop): no DnsAnswers.")
        cumulative = NIOLockedValueBox(
            Cumulative(
                eventsDropped: Growth(counter: eventsDropped), badAnswerSections: Growth(counter: badAnswerSections),
                kernel: kernel))
    }

    func record(views: [DNSView]) {
        // Counted here and added once per call: a counter per view cost more than the rest of
        // this loop. Views are read in place, not copied.
        var answeredByRcode = [Int](repeating: 0, count: 16)
        var (badQuestionCount, timeoutCount, orphanCount) = (0, 0, 0)
        for index in views.indices {
            if views[index].question == nil { badQuestionCount += 1 }
            switch views[index].outcome {
            case .answered(let latencyNs):
                latency.record(.nanoseconds(Int64(latencyNs)))
                answeredByRcode[Int(views[index].flags & 0x0f)] += 1
            case .timedOut:
                timeoutCount += 1
            case .orphan:
                orphanCount += 1
            }
        }
        for (rcode, counter) in transactions.enumerated() where answeredByRcode[rcode] > 0 {
            counter.increment(by: Int64(answeredByRcode[rcode]))
        }
        if badQuestionCount > 0 { badQuestions.increment(by: Int64(badQuestionCount)) }
        if timeoutCount > 0 { timeouts.increment(by: Int64(timeoutCount)) }
        if orphanCount > 0 { orphans.increment(by: Int64(orphanCount)) }
    }

    func record(flows: Int, source: some FlowSource) {
        flowsEvicted.increment(by: Int64(flows))
        flowMapEntries.record(Int64(flows))
        pendingQueries.record(Int64(source.pendingQueryCount()))
        let (dropped, counters, programs) = (source.droppedEvents, source.counters(), source.programStats())
        let badAnswerSections = source.badAnswerSections
        cumulative.withLockedValue { cumulative in
            cumulative.eventsDropped.advance(to: UInt64(dropped))
            cumulative.badAnswerSections.advance(to: UInt64(badAnswerSections))
            for (counter, total) in counters { cumulative.kernel[counter]?.advance(to: total) }
            for program in programs where program.runCount > 0 || cumulative.programs[program.name] != nil {
                cumulative.programs[program.name, default: programCounters(program.name)].runs
                    .advance(to: program.runCount)
                cumulative.programs[program.name]?.time.advance(to: program.runTimeNs)
            }
        }
    }

    private func programCounters(_ name: String) -> (runs: Growth, time: Growth) {
        let labels = [("program", name)]
        let runs = registry.makeCounter(
            descriptor: .named("dnsflow_bpf_runs_total", help: "BPF program runs (kernel.bpf_stats_enabled=1 only)."),
            labels: labels)
        let time = registry.makeCounter(
            descriptor: .named(
                "dnsflow_bpf_run_time_seconds_total", help: "BPF program run time (kernel.bpf_stats_enabled=1 only)."),
            labels: labels)
        return (Growth(counter: runs), Growth(counter: time, nanoseconds: true))
    }
}
