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

    @Test func coalescedTransactionsWriteEveryRowExactlyOnce() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        // A small cap forces many transactions of several batches each, and a batch larger than the cap.
        let writer = FlowWriter(
            store: t.store, queueSize: 1000, maxRowsPerTransaction: 40, logger: Logger(label: "test"))
        var next = 0
        var expected: Set<Int> = []
        for size in (0..<120).map({ [1, 7, 13, 55][$0 % 4] }) {
            let batch = (next..<next + size).map { dnsRecord(id: UInt16($0 % 65536), srcPort: UInt16($0)) }
            #expect(writer.submit(batch))
            expected.formUnion(next..<next + size)
            next += size
        }
        let group = ServiceGroup(configuration: .init(services: [writer], logger: Logger(label: "test")))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            while writer.snapshot.written < next { try await Task.sleep(for: .milliseconds(10)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        let page = try await t.store.query(FlowQuery(limit: FlowQuery.maxLimit))
        #expect(page.total == next)
        #expect(Set(page.flows.map { Int($0.srcPort) }) == expected)
        #expect(writer.snapshot == .init(accepted: next, dropped: 0, written: next, failed: 0))
    }
}

@Suite struct FlowWriterAcknowledgementTests {
    @Test func writeReturnsOnceTheBatchIsCommitted() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let writer = FlowWriter(store: t.store, queueSize: 10, logger: Logger(label: "test"))
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { await writer.write([dnsRecord(id: 1), dnsRecord(id: 2)]) == .stored }
            // No writer runs yet: the batch waits in the queue, and so does its sender.
            while writer.snapshot.accepted < 2 { try await Task.sleep(for: .milliseconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await t.store.count() == 0)
            tasks.addTask {
                try await writer.run()
                return true
            }
            #expect(try await tasks.next() == true, "the first to finish is the write, answered .stored")
            #expect(try await t.store.count() == 2, "answered after the commit, not before")
            tasks.cancelAll()
        }
    }

    @Test func aFullQueueRefusesAtOnce() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let writer = FlowWriter(store: t.store, queueSize: 1, logger: Logger(label: "test"))
        #expect(writer.submit([dnsRecord(id: 1)]))
        // Nothing drains the queue: an answer here means the writer did not wait.
        #expect(await writer.write([dnsRecord(id: 2), dnsRecord(id: 3)]) == .dropped)
        #expect(writer.snapshot.dropped == 2)
    }

    @Test func cancellationAnswersWaitingWriters() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let writer = FlowWriter(store: t.store, queueSize: 10, logger: Logger(label: "test"))
        async let outcome = writer.write([dnsRecord(id: 1)])
        while writer.snapshot.accepted < 1 { try await Task.sleep(for: .milliseconds(5)) }
        let run = Task { try await writer.run() }
        run.cancel()
        try await run.value
        // Written or not, the waiting sender is answered, and the answer matches the store.
        let answer = await outcome
        #expect(answer != .dropped, "it was queued")
        #expect((answer == .stored) == (try await t.store.count() == 1))
        #expect(await writer.write([dnsRecord(id: 2)]) == .dropped, "a stopped writer refuses")
    }
}

@Suite struct BatchQueueTests {
    private func batch(_ size: Int) -> QueuedBatch {
        QueuedBatch(records: (0..<size).map { dnsRecord(id: UInt16($0)) }, done: nil)
    }

    @Test func takesOldestBatchesWholeUpToTheRowCap() {
        var queue = BatchQueue(capacity: 10)
        // #expect cannot call a mutating method, hence the locals.
        let pushed = [3, 4, 10, 2, 1].map { queue.push(batch($0)) }
        #expect(pushed.allSatisfy { $0 })
        let takes = (0..<4).map { _ in queue.take(maxRows: 8).map(\.records.count) }
        #expect(takes[0] == [3, 4], "the next batch would pass the cap")
        #expect(takes[1] == [10], "a batch over the cap goes alone, unsplit")
        #expect(takes[2] == [2, 1])
        #expect(takes[3].isEmpty)
    }

    @Test func boundedByBatchCountAndClosable() {
        var queue = BatchQueue(capacity: 2)
        let pushed = (0..<3).map { _ in queue.push(batch(1)) }
        #expect(pushed == [true, true, false], "the third finds the queue full")
        _ = queue.take(maxRows: 1)
        queue.close()
        let pushedAfterClose = queue.push(batch(1))
        #expect(!pushedAfterClose, "closed")
        let remaining = queue.take(maxRows: 100)
        #expect(remaining.count == 1, "what was queued before closing is still taken")
    }
}
