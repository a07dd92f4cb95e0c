import DNSFlowCore
import Logging
import ServiceLifecycle
import Synchronization

@testable import DNSFlowCollector

/// The real collector (HTTP on an ephemeral loopback port, writer, retention) running for one test body.
func withLiveCollector(
    in dir: TemporaryDirectory, configure: (inout CollectorConfig) -> Void = { _ in },
    ipfixDecoder: (any IPFIXDecoding)? = nil,
    _ body: @Sendable (Collector, Int) async throws -> Void
) async throws {
    var config = CollectorConfig()
    config.listen = HostPort(host: "127.0.0.1", port: 0)
    config.db = dir.path("flows.sqlite")
    configure(&config)
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let logger = Logger(label: "test")
    let collector = try Collector(
        config: config, logger: logger, ipfixDecoder: ipfixDecoder,
        onServerRunning: { portContinuation.yield($0) }
    )
    let group = ServiceGroup(configuration: .init(services: collector.services, logger: logger))
    try await withThrowingTaskGroup { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        do {
            try await body(collector, port)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// Waits until the writer has stored `count` records, or fails after 30 s: the full unit run
/// loads BPF programs and labs beside it, which can stall it for seconds.
func waitUntilWritten(_ collector: Collector, _ count: Int) async throws {
    for _ in 0..<3_000 where collector.dependencies.writer.snapshot.written < count {
        try await Task.sleep(for: .milliseconds(10))
    }
    guard collector.dependencies.writer.snapshot.written >= count else {
        throw TestFailure("the writer stored \(collector.dependencies.writer.snapshot.written) of \(count) records")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
