import DNSFlowCore
import Foundation
import Testing

/// Issue 7: the collector SIGKILLed during ingest; on restart the store opens, every batch it acknowledged is there,
/// and none twice.
@Suite(.serialized)
struct CollectorDurabilityTests {
    static let clients = 4
    static let batchesPerClient = 30
    static let rowsPerBatch = 1_000

    /// Batch `n` (0-based): DNS id 1000 + n, every row its own source port, so a batch's rows are counted by id.
    static func batch(_ n: Int, endMs: Int64) -> [FlowRecord] {
        (0..<rowsPerBatch).map { row in
            FlowRecord(
                srcAddr: IPAddress(ipv4: 10, 9, UInt8(n / 250), UInt8(n % 250 + 1)), dstAddr: "10.9.255.53",
                srcPort: UInt16(10_000 + row),
                dstPort: 53, proto: 17, etype: 0x0800, bytes: 120, packets: 2, timeFlowStartMs: endMs - 2,
                timeFlowEndMs: endMs - Int64(row % 50), interfaces: ["eth0"], ifDirections: [1], flags: 0,
                netNs: 4_026_531_840, nodeName: "durability", dnsId: UInt16(1000 + n), dnsFlags: 0x8180,
                dnsFlagsResponseCode: "NoError", dnsLatencyNs: 500_000, dnsName: "b\(n).durability.test", dnsQType: "A",
                dnsErrno: 0
            )
        }
    }

    @Test("SIGKILL during ingest: after a restart every acknowledged batch is stored exactly once")
    func sigkillDuringIngest() async throws {
        let dir = "/tmp/dnsflow-durability-\(getpid())"
        try sh("rm -rf \(dir) && mkdir -p \(dir)")
        defer { try? sh("rm -rf \(dir)", check: false) }
        let endMs = Int64(Date().timeIntervalSince1970 * 1000)
        let total = Self.clients * Self.batchesPerClient
        for n in 0..<total {
            var body: [UInt8] = []
            FlowRecordJSON.encode(Self.batch(n, endMs: endMs), into: &body)
            try Data(body).write(to: URL(fileURLWithPath: "\(dir)/\(n).json"))
        }

        let port = Int.random(in: 20_000...29_999)
        let first = try await CollectorProcess(httpPort: port)
        // Each client posts its batches one after the other and logs "<batch> <HTTP status>"; the first failure
        // (the collector gone: status 000) ends it.
        let clients = try (0..<Self.clients).map { client in
            try BackgroundProcess(
                """
                sh -c 'for n in $(seq \(client) \(Self.clients) \(total - 1)); do \
                  code=$(curl -s -o /dev/null -w "%{http_code}" --max-time 30 -H "Content-Type: application/json" \
                    --data-binary @\(dir)/$n.json \(first.url)/api/v1/flows); \
                  echo "$n $code" >> \(dir)/client-\(client).log; \
                  case $code in 2*) ;; *) exit 0;; esac; \
                done'
                """)
        }
        func statuses() -> [Int: String] {
            var result: [Int: String] = [:]
            for client in 0..<Self.clients {
                let log = (try? String(contentsOfFile: "\(dir)/client-\(client).log", encoding: .utf8)) ?? ""
                for line in log.split(separator: "\n") {
                    let fields = line.split(separator: " ")
                    if fields.count == 2, let n = Int(fields[0]) { result[n] = String(fields[1]) }
                }
            }
            return result
        }
        // Mid-stream: a third of the batches acknowledged, the others queued, being written or on their way.
        let deadline = ContinuousClock.now + .seconds(60)
        while statuses().values.filter({ $0.hasPrefix("2") }).count < total / 3 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await first.process.stop(signal: SIGKILL) == 128 + SIGKILL)
        for client in clients { await client.stop(signal: 0, timeout: .seconds(40)) }

        let posted = statuses()
        let acknowledged = Set(posted.filter { $0.value.hasPrefix("2") }.keys)
        #expect(acknowledged.count >= total / 3, "the collector was killed before a third was acknowledged")
        #expect(acknowledged.count < total, "the collector was killed after every batch was acknowledged")
        #expect(posted.values.contains("000"), "no request was cut by the kill: \(posted)")

        // Same port, same database file: the store opens, recovering the WAL.
        let second = try await CollectorProcess(httpPort: port)
        var stored = 0
        for n in 0..<total {
            let rows = try Self.total(second, dnsId: 1000 + n)
            stored += rows
            if acknowledged.contains(n) {
                #expect(rows == Self.rowsPerBatch, "acknowledged batch \(n) has \(rows) of \(Self.rowsPerBatch) rows")
            } else {
                // Written (its commit beat the kill, not its answer) or not, but whole: a batch is one transaction.
                #expect(rows == 0 || rows == Self.rowsPerBatch, "batch \(n), never acknowledged, has \(rows) rows")
            }
        }
        let rows = try sh("curl -sf \(second.url)/metrics | awk '/^dnsflow_collector_store_rows / {print $2}'")
        #expect(
            Double(rows.trimmingCharacters(in: .whitespacesAndNewlines)) == Double(stored), "rows outside the batches")
        let check = try sh("sqlite3 \(second.db) 'PRAGMA integrity_check'")
        #expect(check == "ok\n")
        #expect(!second.process.stderr.contains("error"), "\(second.process.stderr)")
        await second.stop()
    }

    /// `total` of `GET /api/v1/flows?dnsId=…`: every stored row with that id.
    static func total(_ collector: CollectorProcess, dnsId: Int) throws -> Int {
        struct Page: Decodable { let total: Int }
        let json = try sh("curl -sf '\(collector.url)/api/v1/flows?dnsId=\(dnsId)&limit=1'")
        return try JSONDecoder().decode(Page.self, from: Data(json.utf8)).total
    }
}
