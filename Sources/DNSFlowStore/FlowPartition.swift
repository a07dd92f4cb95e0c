import GRDB

/// One table of flows: those whose `TimeFlowEndMs` falls in one hour.
///
/// Inserts touch only the current hour's B-trees, queries skip hours outside their window, and retention drops
/// whole tables instead of deleting rows one by one (a DELETE costs as much index work as the insert did).
struct FlowPartition: Hashable {
    static let spanMs: Int64 = 3_600_000

    /// Hours since the epoch.
    let hour: Int64

    init(hour: Int64) { self.hour = hour }

    init(containing timeMs: Int64) { hour = FlowRowID.clamp(timeMs) / Self.spanMs }

    var table: String { "flows_\(hour)" }
    var startMs: Int64 { hour * Self.spanMs }
    var endMs: Int64 { startMs + Self.spanMs }

    /// True when every instant of the partition is in [since, until).
    func isWithin(since: Int64?, until: Int64?) -> Bool {
        startMs >= (since ?? .min) && endMs <= (until ?? .max)
    }

    /// The partitions that may hold flows ending in [since, until), newest first.
    static func newestFirst(_ db: Database, since: Int64?, until: Int64?) throws -> [FlowPartition] {
        let first = since.map { FlowPartition(containing: $0).hour } ?? .min
        // `until` is exclusive: a window ending on an hour boundary does not reach into that hour.
        let last = until.map { FlowPartition(containing: FlowRowID.clamp($0) - 1).hour } ?? .max
        return try Int64.fetchAll(
            db.cachedStatement(
                sql: "SELECT hour FROM \(FlowSchema.partitions) WHERE hour BETWEEN ? AND ? ORDER BY hour DESC"),
            arguments: [first, last]
        ).map(FlowPartition.init(hour:))
    }

    /// Creates the table and its posting lists unless they exist; the caller counts the partition in
    /// `flow_partitions`.
    func create(_ db: Database) throws {
        try db.execute(sql: FlowRow.createTableSQL(table))
        for postings in FlowPostings.allCases { try db.execute(sql: postings.createSQL(self)) }
    }

    func drop(_ db: Database) throws {
        for postings in FlowPostings.allCases { try db.execute(sql: "DROP TABLE IF EXISTS \(postings.table(self))") }
        try db.execute(sql: "DROP TABLE IF EXISTS \(table)")
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
