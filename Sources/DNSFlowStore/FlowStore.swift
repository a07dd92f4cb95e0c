import DNSFlowCore
import Foundation
import GRDB

/// The SQLite flow store: a WAL database pool, so queries read while the single writer inserts.
public struct FlowStore: Sendable {
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws(StoreError) {
        do {
            var config = Configuration()
            // The writer and the retention task share one connection; wait for each other rather than fail.
            config.busyMode = .timeout(5)
            config.prepareDatabase { db in
                // Durable enough for telemetry: a crash can lose the last transactions, never corrupt the file.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // 64 MiB per connection (default 2 MiB): the name and id indexes take inserts at random
                // positions, and a small cache turns each into disk reads once the table outgrows it.
                try db.execute(sql: "PRAGMA cache_size = -65536")
                // Checkpoint every 64 MiB of WAL rather than 4 MiB: the hot index pages an ingest rewrites over and
                // over reach the database file once per checkpoint, and the writer pays for each checkpoint.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 16384")
                // ... and give the space back afterwards, so a burst does not leave a large WAL file behind.
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                // Sorts and temporary B-trees of the top and count queries stay off the disk.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
            pool = try DatabasePool(path: path, configuration: config)
            try FlowSchema.migrator().migrate(pool)
        } catch {
            throw StoreError(.open, path: path, underlying: error)
        }
    }

    /// Inserts all records in one transaction; the writer passes several queued batches joined.
    public func insert(_ records: some Collection<FlowRecord> & Sendable, receivedAt: Int64 = Self.nowMs())
        async throws
    {
        guard !records.isEmpty else { return }
        try await pool.write { db in
            try FlowRow.insert(records, receivedAt: receivedAt, with: db.cachedStatement(sql: FlowRow.insertSQL))
        }
    }

    public func query(_ query: FlowQuery) async throws -> FlowPage {
        let (filter, arguments) = query.whereClause()
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: Self.pageSQL(filter),
                arguments: arguments + [query.limit]
            )
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM flows \(filter)", arguments: arguments) ?? 0
            return FlowPage(flows: rows.map(FlowRow.record), total: total)
        }
    }

    private static func pageSQL(_ filter: String) -> String {
        "SELECT \(FlowRow.selection) FROM flows \(filter) ORDER BY time_flow_end_ms DESC, id DESC LIMIT ?"
    }

    public func top(_ query: TopQuery) async throws -> [TopEntry] {
        let window = FlowQuery(since: query.since, until: query.until).whereClause()
        // One row per transaction view: the records that carry its outcome (a response's rcode, or
        // an errno for timeouts and orphans), not the query-side records that only name it.
        let outcome = "dns_id IS NOT NULL AND (dns_rcode IS NOT NULL OR dns_errno IS NOT NULL)"
        let dnsOnly = window.sql.isEmpty ? "WHERE \(outcome)" : window.sql + " AND \(outcome)"
        let key =
            switch query.by {
            case .latency: "\(Self.client) || ' → ' || \(Self.server)"
            case .rcode: "COALESCE(dns_rcode, '')"
            case .name: "COALESCE(dns_name, '')"
            case .client: Self.client
            }
        let samples = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(key), dns_latency_ms FROM flows \(dnsOnly)
                    ORDER BY time_flow_end_ms DESC LIMIT \(TopQuery.maxWindowRows)
                    """,
                arguments: window.arguments
            ).map { row -> (key: String, latency: Double?) in (row[0], row[1]) }
        }
        return TopRanking.rank(samples, query: query)
    }

    public func latencyHistogram(since: Int64?, until: Int64?) async throws -> [LatencyBucket] {
        let window = FlowQuery(since: since, until: until).whereClause()
        let withLatency =
            window.sql.isEmpty ? "WHERE dns_latency_ms IS NOT NULL" : window.sql + " AND dns_latency_ms IS NOT NULL"
        let bucket = LatencyBucket.bounds.enumerated().map { "WHEN dns_latency_ms < \($1) THEN \($0)" }
        let counts = try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT CASE \(bucket.joined(separator: " ")) ELSE \(LatencyBucket.bounds.count) END AS b, COUNT(*)
                    FROM flows \(withLatency) GROUP BY b
                    """,
                arguments: window.arguments
            ).reduce(into: [Int: Int]()) { $0[$1[0]] = $1[1] }
        }
        let uppers = LatencyBucket.bounds.map(Optional.some) + [nil]
        return uppers.enumerated().map { LatencyBucket(upperMs: $1, count: counts[$0] ?? 0) }
    }

    /// Deletes flows that ended before `cutoffMs`, in chunks so the writer is never locked out for long.
    @discardableResult
    public func deleteFlows(endedBefore cutoffMs: Int64, chunk: Int = 10_000) async throws -> Int {
        var deleted = 0
        while true {
            let n = try await pool.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM flows WHERE id IN
                        (SELECT id FROM flows WHERE time_flow_end_ms < ? LIMIT ?)
                        """,
                    arguments: [cutoffMs, chunk]
                )
                return db.changesCount
            }
            deleted += n
            if n < chunk { return deleted }
        }
    }

    /// SQLite's plan for `query`'s page, one step per line; tests check it still uses the indexes.
    func queryPlan(_ query: FlowQuery) async throws -> String {
        let (filter, arguments) = query.whereClause()
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "EXPLAIN QUERY PLAN " + Self.pageSQL(filter),
                arguments: arguments + [query.limit]
            ).map { row -> String in row["detail"] }.joined(separator: "\n")
        }
    }

    public func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM flows") ?? 0 }
    }

    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // The client is the side that is not the DNS server port.
    private static let client = "(CASE WHEN dst_port = 53 THEN src_addr ELSE dst_addr END)"
    private static let server = "(CASE WHEN dst_port = 53 THEN dst_addr ELSE src_addr END)"
}

/// A store failure with what to check.
public struct StoreError: Error, CustomStringConvertible {
    enum Code { case open }

    let code: Code
    public let path: String
    public let underlying: any Error

    init(_ code: Code, path: String, underlying: any Error) {
        self.code = code
        self.path = path
        self.underlying = underlying
    }

    public var description: String {
        switch code {
        case .open:
            "cannot open the flow database at \(path): \(underlying) (check the directory exists and is writable)"
        }
    }
}
