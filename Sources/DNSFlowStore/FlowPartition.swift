import GRDB

/// One table of flows: those whose `TimeFlowEndMs` falls in one hour.
///
/// Inserts touch only the current hour's B-trees, queries skip hours outside their window, and retention drops
/// whole tables instead of deleting rows one by one (a DELETE costs as much index work as the insert did).
struct FlowPartition: Hashable, Comparable {
    static let spanMs: Int64 = 3_600_000

    /// Hours since the epoch.
    let hour: Int64

    init(hour: Int64) { self.hour = hour }

    init(containing timeMs: Int64) { hour = FlowRowID.clamp(timeMs) / Self.spanMs }

    var table: String { "flows_\(hour)" }
    var startMs: Int64 { hour * Self.spanMs }
    var endMs: Int64 { startMs + Self.spanMs }

    static func < (a: Self, b: Self) -> Bool { a.hour < b.hour }

    /// True when every instant of the partition is in [since, until).
    func isWithin(since: Int64?, until: Int64?) -> Bool {
        startMs >= (since ?? .min) && endMs <= (until ?? .max)
    }

    /// The partitions that may hold flows ending in [since, until), newest first.
    static func newestFirst(_ db: Database, since: Int64?, until: Int64?) throws -> [FlowPartition] {
        let first = since.map { FlowPartition(containing: $0).hour } ?? .min
        // `until` is exclusive: a window ending on an hour boundary does not reach into that hour.
        let last = until.map { FlowPartition(containing: $0 - 1).hour } ?? .max
        return try Int64.fetchAll(
            db, sql: "SELECT hour FROM \(FlowSchema.partitions) WHERE hour BETWEEN ? AND ? ORDER BY hour DESC",
            arguments: [first, last]
        ).map(FlowPartition.init(hour:))
    }

    /// Creates the table and its indexes unless they exist; the caller records the partition in `flow_partitions`.
    func create(_ db: Database) throws {
        try db.execute(sql: FlowRow.createTableSQL(table))
        // Each index ends, implicitly, with the row id, which is in time order: "newest first" within one DNS id
        // or name is a backward walk of the index, no sort. Partial: most flows are not DNS, and a row outside an
        // index costs nothing to insert.
        try db.execute(
            sql: "CREATE INDEX IF NOT EXISTS \(table)_dns_id ON \(table) (dns_id) WHERE dns_id IS NOT NULL")
        // The name index holds a 64-bit hash of the lowercased name rather than the name: an integer key costs a
        // fraction of a NOCASE text key to insert. Exact-name queries check the name itself too (collisions).
        try db.execute(
            sql: "CREATE INDEX IF NOT EXISTS \(table)_dns_name ON \(table) (dns_name_hash) WHERE dns_name_hash IS NOT NULL")
    }
}

/// A partition's row id: `TimeFlowEndMs << 20 | sequence`, so the table itself is in time order.
///
/// That makes the time window a range of the table's own B-tree (no time index to maintain) and "newest first"
/// a backward walk of it.
enum FlowRowID {
    static let sequenceBits: Int64 = 20
    static let sequenceMask: Int64 = (1 << sequenceBits) - 1
    /// 2^43 - 1 ms, in the year 2248: the largest time whose shifted value fits a signed 64-bit id.
    static let maxTimeMs: Int64 = (1 << (63 - sequenceBits)) - 1

    /// Times outside 1970...2248 are stored clamped; they are not flows an agent can see.
    static func clamp(_ timeMs: Int64) -> Int64 { min(max(timeMs, 0), maxTimeMs) }

    static func make(timeMs: Int64, sequence: Int64) -> Int64 {
        clamp(timeMs) << sequenceBits | sequence & sequenceMask
    }

    /// The smallest id of a flow ending at or after `timeMs`.
    static func lowerBound(_ timeMs: Int64) -> Int64 { clamp(timeMs) << sequenceBits }

    static func timeMs(_ id: Int64) -> Int64 { id >> sequenceBits }
}

enum FlowSchema {
    /// One row per partition: its hour and row count, kept in the inserting transaction so that counting the
    /// store, or a partition a query window covers whole, needs no scan.
    static let partitions = "flow_partitions"

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 flows") { db in
            try db.execute(sql: FlowRow.createTableV1SQL)
        }
        migrator.registerMigration("v2 hourly partitions") { db in
            try db.execute(sql: "CREATE TABLE \(partitions) (hour INTEGER PRIMARY KEY, rows INTEGER NOT NULL)")
            try moveV1Rows(db)
            try db.execute(sql: "DROP TABLE flows")
        }
        return migrator
    }

    /// Copies v1's single table into partitions, in chunks so a large store is never all in memory.
    private static func moveV1Rows(_ db: Database) throws {
        var sequence: Int64 = 0
        var last: Int64 = .min
        while true {
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(FlowRow.selectionFromV1), id FROM flows WHERE id > ? ORDER BY id LIMIT 10000",
                arguments: [last]
            )
            guard let end = rows.last else { return }
            last = end[FlowRow.selectedColumns]
            try FlowRow.insert(rows.map(FlowRow.record), into: db, sequence: &sequence)
        }
    }
}
