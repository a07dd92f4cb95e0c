import DNSFlowAgent
import DNSFlowCore
import Logging
import Prometheus
import ServiceLifecycle
import Testing

@testable import DNSFlowProbe

@Suite(.timeLimit(.minutes(1))) struct FlowEvictorTests {
    private let logger = Logger(label: "test.evictor")

    private func config(activeTimeout: Duration = .seconds(1)) -> AgentConfig {
        var config = AgentConfig()
        config.cacheActiveTimeout = activeTimeout
        return config
    }

    /// Runs an evictor over `source` on a manual clock while `body` moves the clock, then shuts it down.
    private func withEvictor(
        _ source: FakeFlowSource, config: AgentConfig? = nil, registry: PrometheusCollectorRegistry = .init(),
        _ body: (ManualClock, CollectingExporter) async throws -> Void = { _, _ in }
    ) async throws -> CollectingExporter {
        let clock = ManualClock()
        let exporter = CollectingExporter()
        let evictor = FlowEvictor(
            source: source, config: config ?? self.config(), nodeName: "node", exporters: [exporter], clock: clock,
            registry: registry, logger: logger)
        let group = ServiceGroup(services: [evictor], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await clock.waitForSleep(after: 0)
            try await body(clock, exporter)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        return exporter
    }

    @Test func theWindowGoesOutEveryActiveTimeout() async throws {
        let source = FakeFlowSource()
        source.update { $0.flows = Samples.flows(3) }
        _ = try await withEvictor(source) { clock, exporter in
            try await clock.step(by: .milliseconds(950))
            #expect(exporter.received.isEmpty)
            #expect(!source.calls.contains("evict"))
            try await clock.step(by: .milliseconds(50))
            #expect(exporter.received.map(\.count) == [3])
            #expect(source.calls.suffix(3) == ["expire", "take", "evict"])
        }
    }

    @Test func timedOutQueriesGoOutWithTheNextEviction() async throws {
        let source = FakeFlowSource()
        source.update { $0.timedOut = Samples.views(2, outcome: .timedOut) }
        _ = try await withEvictor(source) { clock, exporter in
            try await clock.step(by: .milliseconds(500))
            #expect(source.calls == ["expire"])
            #expect(exporter.received.isEmpty)
            try await clock.step(by: .milliseconds(500))
            #expect(exporter.received.map(\.count) == [2])
        }
    }

    @Test func aFullWindowGoesOutBeforeItsEviction() async throws {
        let source = FakeFlowSource()
        let limit = FlowEvictor<FakeFlowSource, ManualClock>.maxViewsPerWindow
        source.update { $0.views = Samples.views(limit - 1) }
        _ = try await withEvictor(source) { clock, exporter in
            try await clock.step(by: .milliseconds(50))
            #expect(exporter.received.isEmpty, "one view short of the limit waits")
            source.update { $0.views += Samples.views(1) }
            try await clock.step(by: .milliseconds(50))
            // One transaction a view: each has its own client.
            #expect(exporter.received.map(\.count) == [limit])
            #expect(!source.calls.contains("evict"))
        }
    }

    @Test func shutdownDrainsTheRingAndFlushesEverything() async throws {
        let source = FakeFlowSource()
        source.update {
            $0.flows = Samples.flows(4)
            $0.timedOut = Samples.views(1, outcome: .timedOut)
        }
        let exporter = try await withEvictor(source, config: config(activeTimeout: .seconds(60)))
        #expect(source.calls.suffix(4) == ["drain", "expire", "take", "evict"])
        #expect(exporter.received.map(\.count) == [5])
    }

    @Test func aFailedEvictionExportsNothingAndTheNextOneGoesOn() async throws {
        let source = FakeFlowSource()
        source.update {
            $0.flows = Samples.flows(2)
            $0.evictionFails = true
        }
        _ = try await withEvictor(source) { clock, exporter in
            try await clock.step(by: .seconds(1))
            #expect(exporter.received.isEmpty)
            source.update { $0.evictionFails = false }
            try await clock.step(by: .seconds(1))
            #expect(exporter.received.map(\.count) == [2])
        }
    }

    @Test func interfaceFiltersDropRecordsBeforeTheExporters() async throws {
        let source = FakeFlowSource()
        source.update { $0.flows = Samples.flows(2, interface: "eth0") + Samples.flows(3, interface: "lo") }
        let config = try AgentConfig(
            yaml: """
                apiVersion: dnsflow.io/v1alpha1
                kind: FlowCollector
                spec:
                  agent:
                    ebpf:
                      cacheActiveTimeout: 60s
                      excludeInterfaces: [lo]
                """)
        let exporter = try await withEvictor(source, config: config)
        #expect(exporter.received.map(\.count) == [2])
    }

    @Test func metricsHaveHelpTextAndAddWhatTheKernelCountersGrewBy() async throws {
        let source = FakeFlowSource()
        let registry = PrometheusCollectorRegistry()
        source.update {
            $0.counters = [.packets: 10]
            $0.programs = [
                ProgramStats(name: "dns_probe", runTimeNs: 2_000_000_000, runCount: 5),
                ProgramStats(name: "never_ran", runTimeNs: 0, runCount: 0),
            ]
            $0.views = Samples.views(3)
        }
        _ = try await withEvictor(source, registry: registry) { clock, _ in
            try await clock.step(by: .seconds(1))
            source.update {
                $0.counters = [.packets: 15]
                $0.programs[0] = ProgramStats(name: "dns_probe", runTimeNs: 3_000_000_000, runCount: 8)
            }
            try await clock.step(by: .seconds(1))
        }
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"dnsflow_kernel_events_total{reason="packets"} 15"#))
        #expect(text.contains(#"dnsflow_bpf_runs_total{program="dns_probe"} 8"#))
        #expect(text.contains(#"dnsflow_bpf_run_time_seconds_total{program="dns_probe"} 3"#))
        #expect(!text.contains("never_ran"), "no series for a program the kernel does not time")
        #expect(text.contains(#"dnsflow_dns_transactions_total{rcode="NXDomain"} 3"#))
        let lines = text.split(separator: "\n")
        for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
            let name = line.split(separator: " ")[2]
            #expect(index > 0 && lines[index - 1].hasPrefix("# HELP \(name) "), "\(name) has no help text")
        }
    }
}
