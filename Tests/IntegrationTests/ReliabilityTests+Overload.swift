import DNSFlowCore
import Foundation
import Testing

/// More than the agent can hold: the pending-query map, the ring buffer, an exporter's buffer.
extension ReliabilityTests {
    @Test("unanswered queries past maxPending are counted as dns_query_map_full; once they expire, queries pair again")
    func pendingMapFull() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try await lab.startSilentServer(port: 5353)
        let (agent, port) = try await Self.agent(dnsTimeout: "1s", maxPending: 16)
        let burst = try Self.write(
            lab, "unanswered",
            #"""
            import socket, struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(400):
                q = struct.pack('>HHHHHH', 0x8000 + i, 0x0100, 1, 0, 0, 0) + b'\x01p\x07example\x04test\x00\x00\x01\x00\x01'
                s.sendto(q, ('\#(lab.serverAddr)', 5353))
            """#)
        _ = try lab.run(lab.client, "timeout 10 python3 \(burst)")
        // 400 queries seen in three namespaces; 16 tracked in the map, up to 16 more in the slots.
        let counts = await Self.waitForKernelEvents(port, ["dns_query_map_full": 1000])
        // Expired after 1 s; the gauge is read at evictions (every 500 ms).
        var pending = -1.0
        for _ in 0..<50 where pending != 0 {
            try await Task.sleep(for: .milliseconds(100))
            pending = Self.metrics(port, "dnsflow_kernel_dns_pending_queries")[""] ?? -1
        }
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(800))
        let records = try await agent.stop()

        #expect(counts["dns_query_map_full", default: 0] >= 1000, "\(counts)")
        #expect(pending == 0, "queries still pending: \(pending)")
        let namespaces = try [lab.client, lab.router, lab.server].map(lab.inode)
        let timedOut = records.filter {
            (0x8000..<0x8190).contains($0.dnsId ?? 0) && namespaces.contains($0.netNs) && $0.dnsErrno == 110
        }
        #expect(
            (1...32).contains(timedOut.count), "\(timedOut.count) timeouts reported with 32 queries tracked at most")
        let dig = try #require(digHeader(output))
        #expect(
            records.contains {
                $0.dnsId == dig.id && $0.netNs == namespaces[0] && $0.dnsLatencyMs != nil
                    && $0.dnsName == "a.example.test"
            })
    }

    @Test(
        "with the agent stopped, a full ring buffer drops transactions and counts each; DNS is still answered; the agent recovers"
    )
    func ringBufferFull() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let (agent, port) = try await Self.agent(activeTimeout: "1s")
        // Nothing drains the 2 MiB ring while the agent is stopped: 15,000 transactions, each
        // seen in three namespaces, overflow it.
        kill(agent.process.pid, SIGSTOP)
        let report = Result { try lab.dnsperf("-c 4 -Q 3000 -l 5") }
        kill(agent.process.pid, SIGCONT)
        let perf = try report.get()
        let counts = await Self.waitForKernelEvents(port, ["dns_ring_buffer_full": 1000], timeout: .seconds(10))
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(1500))
        let rss = Self.rssKiB(agent.process.pid)
        let stdoutDropped = Self.metrics(port, "dnsflow_exporter_records_dropped_total")["exporter=\"stdout\""]
        let records = try await agent.stop()

        #expect(
            perf.sent > 10_000 && perf.completed == perf.sent && perf.lost == 0,
            "the kernel side held up DNS: \(perf.text)")
        let ringFull = counts["dns_ring_buffer_full", default: 0]
        #expect(ringFull >= 1000, "\(counts)")
        // Every transaction's view in each namespace was either exported, as a stage, or counted as dropped.
        let namespaces = try [lab.client, lab.router, lab.server].map(lab.inode)
        let answered = records.filter { $0.isTransaction && $0.srcAddr.text == lab.clientAddr }.flatMap(\.dnsStages)
            .filter { namespaces.contains($0.netNs) && $0.latencyNs != nil }.count
        #expect(stdoutDropped == 0)
        #expect(
            Double(answered) + ringFull >= Double(3 * perf.completed),
            "\(answered) exported + \(ringFull) dropped < 3 × \(perf.completed)")
        #expect(answered <= 3 * perf.completed + 3)
        let dig = try #require(digHeader(output))
        #expect(
            records.contains { $0.dnsId == dig.id && $0.netNs == namespaces[0] && $0.dnsLatencyMs != nil },
            "the agent did not recover")
        #expect(rss > 0 && rss < 200 * 1024, "VmRSS \(rss) KiB")
    }

    @Test(
        "a collector slower than the traffic costs records, counted as dropped; every record is sent, dropped or buffered"
    )
    func exporterBufferFull() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        // One second per batch of 100: ~100 records/s, against thousands.
        let collector = try await FakeCollector(lab, verdict: "return 1.0, 200")
        let (agent, port) = try await Self.agent(
            activeTimeout: "1s",
            exporters: """
                    - {type: HTTP, http: {url: '\(collector.url)', batchSize: 100, bufferSize: 300, timeout: 5s}}
                    - type: Stdout
                """)
        let perf = try lab.dnsperf("-c 1 -Q 1000 -l 3")
        // Stdout never drops here: it counts every record made. The HTTP exporter sent it, dropped
        // it, or holds it (300 buffered, four requests of 100 in flight). Read together, once an
        // eviction has settled.
        let families = ["dnsflow_exporter_records_sent_total", "dnsflow_exporter_records_dropped_total"]
        var sent: [String: Double] = [:]
        var dropped: [String: Double] = [:]
        var accounted = false
        for _ in 0..<50 where !accounted {
            try await Task.sleep(for: .milliseconds(200))
            let values = Self.metrics(port, families)
            sent = values[families[0]] ?? [:]
            dropped = values[families[1]] ?? [:]
            let http = sent["exporter=\"http\"", default: 0] + dropped["exporter=\"http\"", default: 0]
            let made = sent["exporter=\"stdout\"", default: 0]
            accounted = made > 3000 && http <= made && made <= http + 700
        }
        let rss = Self.rssKiB(agent.process.pid)
        let stored = collector.stored.count
        _ = try await agent.stop()

        #expect(perf.completed == perf.sent && perf.lost == 0, "\(perf.text)")
        #expect(accounted, "sent \(sent), dropped \(dropped)")
        #expect(dropped["exporter=\"http\"", default: 0] > 1000 && dropped["exporter=\"stdout\""] == 0, "\(dropped)")
        // The collector stores a batch before answering: it has what was counted sent, and at most
        // the batches in flight.
        let httpSent = Int(sent["exporter=\"http\"", default: 0])
        #expect(stored >= httpSent && stored <= httpSent + 400, "collector \(stored), agent sent \(httpSent)")
        #expect(rss > 0 && rss < 200 * 1024, "VmRSS \(rss) KiB")
    }
}
