import DNSFlowCore
import DNSFlowStore
import DNSFlowTestSupport
import Foundation
import Testing

/// The real agent and `dnsflow collector --store clickhouse://…` against real ClickHouse servers (Debian's
/// clickhouse-server) on loopback, each with its own config and data directory.
@Suite(.serialized)
struct ClickHouseTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    /// Posts batch `n` of `CollectorDurabilityTests` (DNS id 1000 + n) and returns the HTTP status.
    static func post(_ n: Int, to collector: CollectorProcess, endMs: Int64, dir: String) throws -> String {
        let file = "\(dir)/\(n).json"
        if !FileManager.default.fileExists(atPath: file) {
            var body: [UInt8] = []
            FlowRecordJSON.encode(CollectorDurabilityTests.batch(n, endMs: endMs), into: &body)
            try Data(body).write(to: URL(fileURLWithPath: file))
        }
        return try sh(
            "curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' "
                + "--data-binary @\(file) \(collector.url)/api/v1/flows")
    }

    /// Rows per batch (DNS id 1000 + n) in `server`'s own table.
    static func rowsPerBatch(_ server: ClickHouseServer, database: String) async throws -> [Int: Int] {
        let text = try await server.query("SELECT dns_id - 1000, count() FROM \(database).flows GROUP BY dns_id")
        var rows: [Int: Int] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: "\t").compactMap { Int($0) }
            if fields.count == 2 { rows[fields[0]] = fields[1] }
        }
        return rows
    }

    /// Runs `body` with a collector over `store`, stopped afterwards whether it threw or not.
    static func withCollector<T>(store: String, _ body: (CollectorProcess) async throws -> T) async throws -> T {
        let collector = try await CollectorProcess(store: store)
        do {
            let result = try await body(collector)
            await collector.stop()
            return result
        } catch {
            await collector.stop()
            throw error
        }
    }

    /// Polls `dnsflow flows --dns-id` (10 s at most) for the lab client's records of `id`.
    static func lookups(_ id: UInt16, in collector: CollectorProcess, lab: Lab) async throws -> [FlowRecord] {
        var found: [FlowRecord] = []
        for _ in 0..<100 where found.isEmpty {
            found = try collector.flows(dnsId: id).filter { $0.srcAddr.text == lab.clientAddr }
            if found.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        return found
    }

    static func httpExporter(_ collector: CollectorProcess) -> String {
        AgentProcess.config(exporters: "    - {type: HTTP, http: {url: '\(collector.url)/api/v1/flows'}}")
    }

    @Test("dig's id is found in ClickHouse through the agent and the collector, with its rcode and stages")
    func digThroughClickHouse() async throws {
        let server = try ClickHouseServer()
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try await ClickHouseServer.running([server]) {
            try await Self.withCollector(store: server.storeURL(database: "i21dig")) { collector in
                let agent = try await AgentProcess(config: Self.httpExporter(collector))
                let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) missing.example.test A")
                let dig = try #require(digHeader(output))
                try await Task.sleep(for: .milliseconds(300))
                _ = try await agent.stop()
                let found = try await Self.lookups(dig.id, in: collector, lab: lab)
                try #require(found.count == 1, "id \(dig.id): \(found.count) rows")
                #expect(
                    found[0].isTransaction
                        && found[0].dnsFlagsResponseCode?.name.lowercased() == dig.status.lowercased())
                #expect(found[0].dnsStages.map(\.netNs) == (try [lab.client, lab.router, lab.server].map(lab.inode)))
                let stored = try await server.query("SELECT count() FROM i21dig.flows WHERE dns_id = \(dig.id)")
                #expect(
                    Int(stored.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1, "the row is in ClickHouse")
            }
        }
    }

    @Test("ClickHouse restarted during ingest: every acknowledged batch is stored, and ingest answers 503 meanwhile")
    func restartDuringIngest() async throws {
        let dir = "/tmp/dnsflow-i21-restart-\(getpid())"
        try sh("rm -rf \(dir) && mkdir -p \(dir)")
        defer { try? sh("rm -rf \(dir)", check: false) }
        let server = try ClickHouseServer()
        let endMs = Int64(Date().timeIntervalSince1970 * 1000)
        let (statuses, rows) = try await ClickHouseServer.running([server]) {
            try await Self.withCollector(store: server.storeURL(database: "i21restart")) { collector in
                var statuses: [Int: String] = [:]
                func post(_ batches: Range<Int>) throws {
                    for n in batches { statuses[n] = try Self.post(n, to: collector, endMs: endMs, dir: dir) }
                }
                try post(0..<10)
                // Down: the collector retries for a while, then answers 503 so the sender keeps the batch.
                await server.stop()
                try post(10..<13)
                try await server.start()
                try post(13..<23)
                return (statuses, try await Self.rowsPerBatch(server, database: "i21restart"))
            }
        }
        let acknowledged = statuses.filter { $0.value == "200" }.map(\.key).sorted()
        #expect(statuses.values.contains("503"), "\(statuses.sorted { $0.key < $1.key })")
        #expect(acknowledged.count >= 20, "before and after the restart: \(acknowledged)")
        for batch in acknowledged {
            #expect(rows[batch] == CollectorDurabilityTests.rowsPerBatch, "batch \(batch): \(rows[batch] ?? 0) rows")
        }
        for (batch, status) in statuses where status != "200" {
            #expect(rows[batch] == nil, "batch \(batch), answered \(status), is not stored")
        }
    }

    @Test("ClickHouse down: the agent keeps the lookup, retries, and it is stored once ClickHouse is back")
    func agentRetriesWhileClickHouseIsDown() async throws {
        let server = try ClickHouseServer()
        defer { try? FileManager.default.removeItem(atPath: server.directory) }
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        // The server has not started yet: the collector starts without it.
        try await Self.withCollector(store: server.storeURL(database: "i21down")) { collector in
            let agent = try await AgentProcess(config: Self.httpExporter(collector))
            let dig = try #require(
                digHeader(try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")))
            let refused = await agent.process.waitForStderr(timeout: .seconds(30)) {
                $0.contains("Flow receiver refused a batch") && $0.contains("503")
            }
            #expect(refused, "the collector answered 503 while ClickHouse was down")
            try await ClickHouseServer.running([server]) {
                let found = try await Self.lookups(dig.id, in: collector, lab: lab)
                _ = try await agent.stop()
                #expect(found.count == 1, "id \(dig.id) stored after the agent's retries")
            }
        }
    }

    @Test("two shards behind a Distributed table, a collector on each: both answer every batch, the same way")
    func twoShardsTwoCollectors() async throws {
        let dir = "/tmp/dnsflow-i21-shards-\(getpid())"
        try sh("rm -rf \(dir) && mkdir -p \(dir)")
        defer { try? sh("rm -rf \(dir)", check: false) }
        let servers = try ClickHouseServer.cluster(2)
        let endMs = Int64(Date().timeIntervalSince1970 * 1000)
        let queries = ["dnsId=1003", "dnsId=1004&limit=5", "limit=20", "node=durability&limit=3"]
        try await ClickHouseServer.running(servers) {
            let stores = servers.map { $0.storeURL(database: "i21shards", cluster: true) }
            try await Self.withCollector(store: stores[0]) { first in
                try await Self.withCollector(store: stores[1]) { second in
                    let collectors = [first, second]
                    var statuses: [String] = []
                    for n in 0..<8 { statuses.append(try Self.post(n, to: collectors[n % 2], endMs: endMs, dir: dir)) }
                    #expect(statuses == Array(repeating: "200", count: 8))
                    var local: [[Int: Int]] = []
                    for server in servers { local.append(try await Self.rowsPerBatch(server, database: "i21shards")) }
                    #expect(local[0].keys.sorted() == [0, 2, 4, 6] && local[1].keys.sorted() == [1, 3, 5, 7])
                    let answers = try collectors.map { collector in
                        try queries.map { try sh("curl -sf '\(collector.url)/api/v1/flows?\($0)'") }
                    }
                    #expect(answers[0] == answers[1], "either collector answers the same")
                    let byId = try FlowRecordJSON.decodePage(Array(answers[0][0].utf8))
                    #expect(byId.total == CollectorDurabilityTests.rowsPerBatch)
                    #expect(byId.records.count == 100 && byId.records.allSatisfy { $0.dnsId == 1003 })
                    let all = try FlowRecordJSON.decodePage(Array(answers[1][2].utf8))
                    #expect(all.total == 8 * CollectorDurabilityTests.rowsPerBatch, "both shards' rows")
                    // Whole minutes and no other filter: both answer from the shards' rollups.
                    let since = endMs / 60_000 * 60_000 - 60_000
                    let series = try collectors.map { collector in
                        let answer = try sh(
                            "curl -sf '\(collector.url)/api/v1/dns/timeseries?since=\(since)&until=\(since + 180_000)&step=1m'"
                        )
                        return try JSONDecoder().decode(TimeSeries.self, from: Data(answer.utf8))
                    }
                    #expect(series[0] == series[1], "either collector answers the same")
                    let rate = series[0]
                    #expect(rate.series.map(\.key) == ["NoError"])
                    let lookups = rate.series.first.map { $0.values.reduce(0) { $0 + ($1 ?? 0) } * 60 }
                    #expect(lookups.map { $0.rounded() } == Double(8 * CollectorDurabilityTests.rowsPerBatch))
                }
            }
        }
    }
}
