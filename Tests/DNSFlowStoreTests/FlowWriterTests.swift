import DNSFlowCore
import Logging
import ServiceLifecycle
import Testing

@testable import DNSFlowStore

@Suite struct FlowWriterTests {
    @Test func fullQueueDropsAndCounts() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // Nothing drains the queue until run(): two batches fit, the rest are dropped.
        let writer = FlowWriter(store: t.store, queueSize: 2, logger: Logger(label: "test"))
        #expect(writer.submit([dnsRecord(id: 1), dnsRecord(id: 2)]))
        #expect(writer.submit([dnsRecord(id: 3)]))
        #expect(!writer.submit([dnsRecord(id: 4), dnsRecord(id: 5)]))
        #expect(writer.snapshot.accepted == 3)
        #expect(writer.snapshot.dropped == 2)
    }

    @Test func gracefulShutdownDrainsQueuedBatches() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let writer = FlowWriter(store: t.store, queueSize: 10, logger: Logger(label: "test"))
        for id in 1...5 { writer.submit([dnsRecord(id: UInt16(id))]) }
        let group = ServiceGroup(configuration: .init(services: [writer], logger: Logger(label: "test")))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            while writer.snapshot.written < 5 { try await Task.sleep(for: .milliseconds(10)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await t.store.count() == 5)
        #expect(!writer.submit([dnsRecord(id: 6)]), "a stopped writer refuses")
    }
}
