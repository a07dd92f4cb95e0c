import DNSFlowCore
import Foundation
import GRDB
import Synchronization

/// The SQLite flow store: a WAL database pool, so queries read while the single writer inserts, with flows in one
/// table per hour (`FlowPartition`).
public struct FlowStore: Sendable {
    private let pool: DatabasePool
    /// The low bits of row ids, carried from one insert to the next; the pool serializes writes.
    private let sequence = RowSequence()

    static let pageSize = 32_768

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws(StoreError) {
        do {
            var config = Configuration()
            // The writer and the retention task share one connection; wait for each other rather than fail.
            config.busyMode = .timeout(5)
            config.prepareDatabase { db in
                // For a new file only (before the WAL exists). A commit rewrites every page its rows touched, and the
                // posting lists spread over many: with 32 KiB pages the writer handles a fraction of the pages and
                // system calls of 4 KiB ones, and spends less CPU per record; reads of single rows barely notice.
                try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
                // A commit is written to the WAL but not synced: a killed process loses nothing it committed (the
                // OS has the pages); a power loss can lose the last transactions, never corrupt the file.
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // 64 MiB per connection (default 2 MiB): the posting lists take inserts at random positions, and a
                // small cache turns each into a read once the hour's lists outgrow it.
                try db.execute(sql: "PRAGMA cache_size = -65536")
                // Checkpoint every 64 MiB of WAL rather than 4 MiB: the hot pages an ingest rewrites over and over
                // reach the database file once per checkpoint, and the writer pays for each checkpoint. In pages of
                // the file's own size, which an older file keeps.
                let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? Self.pageSize
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(64 << 20 / pageSize)")
                // ... and give the space back afterwards, so a burst does not leave a large WAL file behind.
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
                // Reads map the file instead of copying each page out of the OS cache: a query by DNS id reads one
                // posting page per run of every hour it covers (hundreds over a day), mostly not in this
                // connection's cache. SQLite caps the size at its build's limit (2 GiB by default).
                try db.execute(sql: "PRAGMA mmap_size = \(1 << 40)")
                // Sorts and temporary B-trees of the top and count queries stay off the disk.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                db.add(function: LatencyBuckets.sqlFunction)
            }
            pool = try DatabasePool(path: path, configuration: config)
            try FlowSchema.migrator().migrate(pool)
        } catch {
            throw .open(path, error)
        }
    }

    /// Inserts all records in one transaction; the writer passes several queued batches joined.
    public func insert(_ records: some Collection<FlowRecord> & Sendable) async throws(StoreError) {
        guard !records.isEmpty else { return }
        try await onPool(StoreError.write, access: .write) { db in
            try sequence.next.withLock { try FlowInsert.run(records, in: db, sequence: &$0) }
            try DNSRollup.add(records, in: db)
            try FlowMinutes.add(records, in: db)
        }
    }

    private enum Access { case read, write }

    /// Runs `body` on the pool, its failure as `StoreError`.
    private func onPool<T: Sendable>(
        _ failure: (any Error) -> StoreError, access: Access = .read,
        _ body: @Sendable @escaping (Database) throws -> T
    ) async throws(StoreError) -> T {
        do {
            switch access {
            case .read: return try await pool.read(body)
            case .write: return try await pool.write(body)
            }
        } catch {
            throw failure(error)
        }
    }

    // Queries use cached statements: preparing one per hour took longer than running it.

    public func query(_ query: FlowQuery) async throws(StoreError) -> FlowPage {
        try await onPool(StoreError.query) { db in
            switch query.order {
            case .time: try Self.newestPage(query, in: db)
            case .latency: try Self.slowestPage(query, in: db)
            }
        }
    }

    private static func newestPage(_ query: FlowQuery, in db: Database) throws -> FlowPage {
        var flows: [FlowRecord] = []
        var total = 0
        // Rows of the ordered result still to skip before the page starts.
        var skip = query.offset
        // Partitions are disjoint hours: newest first across them is each one's newest first, in turn.
        for partition in try FlowPartition.newestFirst(db, since: query.since, until: query.until) {
            let room = max(query.limit - flows.count, 0)
            if let (sql, arguments) = query.dnsIdRowIDs(in: partition) {
                // The id's lists, read once: their length is the partition's total, their newest ids the page's
                // rows, each read by id (reading the lists twice, for the rows and the count, cost a seek per
                // posting run twice).
                let ids = try Int64.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).sorted(by: >)
                total += ids.count
                for id in ids.dropFirst(skip).prefix(room) {
                    let row = try Row.fetchOne(db.cachedStatement(sql: Self.rowSQL(partition)), arguments: [id])
                    if let row { flows.append(FlowRow.record(row)) }
                }
                skip = max(skip - ids.count, 0)
                continue
            }
            let count = try Self.count(partition, query, in: db)
            total += count
            if room > 0 && skip < count {
                let (filter, arguments) = query.whereClause(in: partition)
                flows += try Row.fetchAll(
                    db.cachedStatement(sql: Self.pageSQL(partition, filter, order: "id DESC")),
                    arguments: arguments + [room, skip]
                ).map(FlowRow.record)
            }
            skip = max(skip - count, 0)
        }
        return FlowPage(flows: flows, total: total)
    }

    /// Each partition's slowest `offset + limit` rows, merged.
    private static func slowestPage(_ query: FlowQuery, in db: Database) throws -> FlowPage {
        var rows: [(latency: Int64, id: Int64, record: FlowRecord)] = []
        var total = 0
        for partition in try FlowPartition.newestFirst(db, since: query.since, until: query.until) {
            let (filter, arguments) = query.whereClause(in: partition)
            total += try Self.count(partition, query, in: db)
            rows += try Row.fetchAll(
                db.cachedStatement(sql: Self.pageSQL(partition, filter, order: Self.slowestOrder)),
                arguments: arguments + [query.offset + query.limit, 0]
            ).map { row in
                let record = FlowRow.record(row)
                return (record.dnsLatencyNs.map { Int64(clamping: $0) } ?? -1, row[0], record)
            }
        }
        rows.sort { ($0.latency, $0.id) > ($1.latency, $1.id) }
        return FlowPage(flows: rows.dropFirst(query.offset).prefix(query.limit).map(\.record), total: total)
    }

    private static let slowestOrder = "COALESCE(dns_latency_ns, -1) DESC, id DESC"

    private static func pageSQL(_ partition: FlowPartition, _ filter: String, order: String = "id DESC") -> String {
        "SELECT \(FlowRow.selection) FROM \(partition.table) \(filter) ORDER BY \(order) LIMIT ? OFFSET ?"
    }

    private static func rowSQL(_ partition: FlowPartition) -> String {
        "SELECT \(FlowRow.selection) FROM \(partition.table) WHERE id = ?"
    }

    /// The partition's matches; read from `flow_partitions` when the query's window covers the whole hour, from
    /// `flow_minutes` when it filters on the record type at most.
    private static func count(_ partition: FlowPartition, _ query: FlowQuery, in db: Database) throws -> Int {
        if query.isTimeWindowOnly && partition.isWithin(since: query.since, until: query.until) {
            return try Int.fetchOne(
                db.cachedStatement(sql: "SELECT rows FROM \(FlowSchema.partitions) WHERE hour = ?"),
                arguments: [partition.hour]
            ) ?? 0
        }
        if let count = try FlowMinutes.count(query, in: partition, db) { return count }
        let (filter, arguments) = query.whereClause(in: partition)
        return try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COUNT(*) FROM \(partition.table) \(filter)"), arguments: arguments
        ) ?? 0
    }

    public func top(_ query: TopQuery) async throws(StoreError) -> [TopEntry] {
        // One row per transaction view: the records that carry its outcome (a response's rcode, or
        // an errno for timeouts and orphans), not the query-side records that only name it.
        let outcome = "dns_id IS NOT NULL AND (dns_rcode IS NOT NULL OR dns_errno IS NOT NULL)"
        let columns =
            switch query.by {
            case .latency: "\(Self.client), \(Self.server)"
            case .rcode: "dns_rcode"
            case .name: "COALESCE(dns_name, '')"
            case .client: "COALESCE(net_ns_name, container_id), \(Self.client)"
            case .server: "dst_addr"
            case .comm: "COALESCE(comm, '')"
            }
        // Keys are made into text here, for the API; SQL groups by the stored bytes.
        let key: @Sendable (Row) -> String =
            switch query.by {
            case .latency: { "\(FlowRow.address($0[0])) → \(FlowRow.address($0[1]))" }
            case .rcode: { ($0[0] as UInt8?).map { DNSResponseCode(rawValue: $0).name } ?? "" }
            case .name, .comm: { $0[0] }
            case .client: { ($0[0] as String?) ?? FlowRow.address($0[1]).text }
            case .server: { FlowRow.address($0[0]).text }
            }
        let keyColumns = [.latency, .client].contains(query.by) ? 2 : 1
        // The key's columns, and the bucket for a percentile only: grouping by it costs SQLite more than the scan.
        let percentile = query.stat.fraction != nil
        let groupBy = (1...keyColumns + (percentile ? 1 : 0)).map(String.init).joined(separator: ", ")
        let bucket = percentile ? "dns_latency_bucket(dns_latency_ns)" : "NULL"
        return try await onPool(StoreError.query) { db in
            let partitions = try FlowPartition.newestFirst(db, since: query.since, until: query.until)
            // Grouped in SQL: a few thousand groups for an hour's lookups, not its rows.
            var buckets = TopBuckets(query)
            for partition in partitions {
                let (filter, arguments) = query.filter.whereClause(in: partition, and: outcome)
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT \(columns), \(bucket), COUNT(*), SUM(COALESCE(\(FlowQuery.failed), 0)),
                          COUNT(dns_latency_ns), SUM(dns_latency_ns), MAX(dns_latency_ns)
                        FROM \(partition.table) \(filter) GROUP BY \(groupBy)
                        """,
                    arguments: arguments)
                while let row = try rows.next() {
                    let at = keyColumns
                    buckets.add(
                        TopBuckets.Row(
                            key: key(row), bucket: row[at], count: row[at + 1], errors: row[at + 2],
                            latencies: row[at + 3], latencySumNs: row[at + 4] ?? 0, latencyMaxNs: row[at + 5]))
                }
            }
            // A percentile is the rank-th latency of its bucket: read the latencies of those buckets only.
            let wanted = buckets.wanted
            var latencies: [String: [Int64]] = [:]
            let ranges = Set(wanted.values.map(\.bucket)).sorted().map { bucket in
                let range = LatencyBuckets.nanoseconds(bucket)
                return "dns_latency_ns BETWEEN \(range.lowerBound) AND \(range.upperBound)"
            }
            if !ranges.isEmpty {
                for partition in partitions {
                    let (filter, arguments) = query.filter.whereClause(
                        in: partition, and: "\(outcome) AND (\(ranges.joined(separator: " OR ")))")
                    let rows = try Row.fetchCursor(
                        db, sql: "SELECT \(columns), dns_latency_ns FROM \(partition.table) \(filter)",
                        arguments: arguments)
                    while let row = try rows.next() {
                        let key = key(row)
                        let latency: Int64 = row[keyColumns]
                        if wanted[key]?.bucket == LatencyBuckets.bucket(latencyNs: latency) {
                            latencies[key, default: []].append(latency)
                        }
                    }
                }
            }
            var exact: [String: Double] = [:]
            for (key, rank) in wanted {
                guard let values = latencies[key], values.count >= rank.rank else { continue }
                exact[key] = Double(values.sorted()[rank.rank - 1]) / 1e6
            }
            return buckets.ranked(exact: exact)
        }
    }

    public func latencyHistogram(since: Int64?, until: Int64?) async throws(StoreError) -> [LatencyBucket] {
        let window = FlowQuery(since: since, until: until)
        let bucket = LatencyBucket.bounds.enumerated().map {
            "WHEN dns_latency_ns < \(FlowQuery.nanoseconds($1)) THEN \($0)"
        }
        let counts = try await onPool(StoreError.query) { db in
            var counts: [Int: Int] = [:]
            for partition in try FlowPartition.newestFirst(db, since: since, until: until) {
                let (filter, arguments) = window.whereClause(in: partition, and: "dns_latency_ns IS NOT NULL")
                for row in try Row.fetchAll(
                    db,
                    sql: """
                        SELECT CASE \(bucket.joined(separator: " ")) ELSE \(LatencyBucket.bounds.count) END AS b, COUNT(*)
                        FROM \(partition.table) \(filter) GROUP BY b
                        """,
                    arguments: arguments
                ) {
                    counts[row[0], default: 0] += row[1]
                }
            }
            return counts
        }
        let uppers = LatencyBucket.bounds.map(Optional.some) + [nil]
        return uppers.enumerated().map { LatencyBucket(upperMs: $1, count: counts[$0] ?? 0) }
    }

    public func timeSeries(_ query: TimeSeriesQuery) async throws(StoreError) -> TimeSeries {
        try await onPool(StoreError.query) { db in
            var counts = TimeSeriesCounts(query)
            if query.fitsRollup {
                try DNSRollup.read(into: &counts, query, in: db)
                return counts.series
            }
            let outcome = "dns_id IS NOT NULL AND \(DNSOutcome.sql) IS NOT NULL"
            for partition in try FlowPartition.newestFirst(db, since: query.since, until: query.until) {
                let (filter, arguments) = query.filter.whereClause(in: partition, and: outcome)
                let rows = try Row.fetchCursor(
                    db.cachedStatement(
                        sql: """
                            SELECT ((id >> \(FlowRowID.sequenceBits)) - ?) / ?, \(counts.keySQL), COUNT(*)
                            FROM \(partition.table) \(filter) GROUP BY 1, 2
                            """),
                    arguments: [query.since, query.stepMs] + arguments
                )
                while let row = try rows.next() {
                    let step: Int64 = row[0]
                    counts.add(timeMs: query.since + step * query.stepMs, key: row[1], count: row[2])
                }
            }
            return counts.series
        }
    }

    /// Drops the partitions whose hour ended at or before `cutoffMs`; returns the flows they held. A flow is thus
    /// kept until its whole hour has passed the cutoff: up to one hour longer than the retention.
    @discardableResult
    public func dropPartitions(endedBefore cutoffMs: Int64) async throws(StoreError) -> Int {
        let (hours, flows) = try await onPool(StoreError.retention, access: .write) { db in
            // An hour ends at or before the cutoff exactly when it comes before the cutoff's own hour.
            let expired = try Row.fetchAll(
                db, sql: "SELECT hour, rows FROM \(FlowSchema.partitions) WHERE hour < ?",
                arguments: [FlowPartition(containing: cutoffMs).hour]
            )
            var dropped = 0
            try DNSRollup.drop(before: FlowPartition(containing: cutoffMs).startMs, in: db)
            try FlowMinutes.drop(before: FlowPartition(containing: cutoffMs).startMs, in: db)
            for row in expired {
                let partition = FlowPartition(hour: row["hour"])
                try partition.drop(db)
                try db.execute(sql: "DELETE FROM \(FlowSchema.partitions) WHERE hour = ?", arguments: [partition.hour])
                dropped += row["rows"] as Int
            }
            return (expired.count, dropped)
        }
        // Readers cache statements per hour; those of dropped hours go with the connections' memory.
        if hours > 0 { pool.releaseMemoryEventually() }
        return flows
    }

    /// SQLite's plan for `query`'s page in each partition it reads, one step per line; tests check it still uses
    /// the indexes.
    func queryPlan(_ query: FlowQuery) async throws(StoreError) -> String {
        try await onPool(StoreError.query) { db in
            try FlowPartition.newestFirst(db, since: query.since, until: query.until).flatMap { partition in
                let (filter, arguments) = query.whereClause(in: partition)
                return try Row.fetchAll(
                    db, sql: "EXPLAIN QUERY PLAN " + Self.pageSQL(partition, filter),
                    arguments: arguments + [query.limit, 0]
                ).map { row -> String in row["detail"] }
            }.joined(separator: "\n")
        }
    }

    /// Every stored flow, from the per-partition counts: no scan.
    public func count() async throws(StoreError) -> Int {
        try await onPool(StoreError.query) { db in
            try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(rows), 0) FROM \(FlowSchema.partitions)") ?? 0
        }
    }

    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // The client is the side that is not the DNS server port.
    private static let client = "(CASE WHEN dst_port = 53 THEN src_addr ELSE dst_addr END)"
    private static let server = "(CASE WHEN dst_port = 53 THEN dst_addr ELSE src_addr END)"
}

/// The next row sequence, behind a lock only so the store stays `Sendable`: the pool serializes its writes anyway.
private final class RowSequence: Sendable {
    let next = Mutex<Int64>(0)
}

/// A store failure: what failed, what to check, and the database's own error.
public struct StoreError: Error, CustomStringConvertible {
    private enum Code {
        case open(path: String)
        case write
        case query
        case retention
    }

    private let code: Code
    public let underlying: any Error

    private init(_ code: Code, underlying: any Error) {
        self.code = code
        self.underlying = underlying
    }

    static func open(_ path: String, _ error: any Error) -> StoreError {
        StoreError(.open(path: path), underlying: error)
    }
    static func write(_ error: any Error) -> StoreError { StoreError(.write, underlying: error) }
    static func query(_ error: any Error) -> StoreError { StoreError(.query, underlying: error) }
    static func retention(_ error: any Error) -> StoreError { StoreError(.retention, underlying: error) }

    public var description: String {
        switch code {
        case .open(let path):
            "cannot open the flow database at \(path): \(underlying) (check the directory exists and is writable)"
        case .write:
            "cannot write flows: \(underlying) (check the disk has room and the database file is writable)"
        case .query:
            "cannot read flows: \(underlying) (the database may be damaged; check the collector's disk)"
        case .retention:
            "cannot drop expired flows: \(underlying) (check the disk and the database file's permissions)"
        }
    }
}
