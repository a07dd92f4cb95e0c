import DNSFlowAgent
import Foundation
import Logging
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1))) struct MetricsEndpointTests {
    private let logger = Logger(label: "test.metrics")

    /// The status and body curl got for `path`.
    private func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test func servesTheRegistryAndHealth() async throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "x", unitName: "total", helpText: "X seen."))
            .increment()
        let healthy = Atomic(true)
        let port = Int.random(in: 30_000...32_767)  // below the ephemeral range: no client socket holds it
        let endpoint = MetricsEndpoint(host: "127.0.0.1", port: port, registry: registry, logger: logger) {
            healthy.load(ordering: .relaxed)
        }
        let group = ServiceGroup(services: [endpoint], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var metrics = try get(port, "/metrics")
            for _ in 0..<100 where metrics.status == 0 {
                try await Task.sleep(for: .milliseconds(20))
                metrics = try get(port, "/metrics")
            }
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("# HELP x_total X seen.\n# TYPE x_total counter\nx_total 1"))
            #expect(try get(port, "/healthz").status == 200)
            healthy.store(false, ordering: .relaxed)
            #expect(try get(port, "/healthz").status == 503)
            #expect(try get(port, "/nothing").status == 404)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test func aTakenPortSaysWhichKeyToChange() async throws {
        // Another process's listener, bound before the endpoint runs: no race with a service starting.
        let taken = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(taken.localAddress?.port)
        let endpoint = MetricsEndpoint(host: "127.0.0.1", port: port, registry: .init(), logger: logger) { true }
        let error = await #expect(throws: MetricsEndpointError.self) { try await endpoint.run() }
        #expect(error.map { "\($0)".hasPrefix("spec.agent.metrics.port: cannot listen on 127.0.0.1:\(port)") } == true)
        try await taken.close()
    }
}
