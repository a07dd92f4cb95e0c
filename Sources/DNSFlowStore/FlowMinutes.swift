import DNSFlowCore
import GRDB

/// Rows per minute and record type, kept as they are inserted: the total of a window (the lookups table's, over the
/// last hour) adds up its whole minutes and counts only the rows of the minutes it cuts.
enum FlowMinutes {
    static let table = "flow_minutes"

    static let createSQL = """
        CREATE TABLE \(table) (
          minute INTEGER NOT NULL, record_type INTEGER NOT NULL, rows INTEGER NOT NULL,
          PRIMARY KEY (minute, record_type)) WITHOUT ROWID
        """

    /// Counts `records`, every one of which the insert stores. Runs inside the inserting transaction.
    static func add(_ records: some Sequence<FlowRecord>, in db: Database) throws {
        var counts: [Key: Int] = [:]
        for record in records {
            let minute = FlowRowID.clamp(record.timeFlowEndMs) / DNSRollup.minuteMs
            counts[Key(minute: minute, recordType: Int64(record.recordType.rawValue)), default: 0] += 1
        }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (minute, record_type, rows) VALUES (?, ?, ?)
                ON CONFLICT (minute, record_type) DO UPDATE SET rows = rows + excluded.rows
                """)
        for (key, count) in counts.sorted(by: { $0.key < $1.key }) {
            try statement.execute(arguments: [key.minute, key.recordType, count])
        }
    }

    /// `query`'s matches in `partition`, when its only filters are the window and the record type; nil otherwise.
    static func count(_ query: FlowQuery, in partition: FlowPartition, _ db: Database) throws -> Int? {
        var window = query.filter
        window.recordType = nil
        guard window.isTimeWindowOnly else { return nil }
        let start = max(query.since ?? .min, partition.startMs)
        let end = min(query.until ?? .max, partition.endMs)
        guard start < end else { return 0 }
        let minuteMs = DNSRollup.minuteMs
        // The whole minutes inside [start, end); the rows of the cut ones at either side are counted in the table.
        let first = (start + minuteMs - 1) / minuteMs
        let last = end / minuteMs
        guard first < last else { return try rows(query, from: start, to: end, in: partition, db) }
        var sql = "SELECT COALESCE(SUM(rows), 0) FROM \(table) WHERE minute >= ? AND minute < ?"
        var arguments: StatementArguments = [first, last]
        if let recordType = query.recordType {
            sql += " AND record_type = ?"
            arguments += [Int64(recordType.rawValue)]
        }
        let whole = try Int.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) ?? 0
        return try whole + rows(query, from: start, to: first * minuteMs, in: partition, db)
            + rows(query, from: last * minuteMs, to: end, in: partition, db)
    }

    private static func rows(
        _ query: FlowQuery, from start: Int64, to end: Int64, in partition: FlowPartition, _ db: Database
    ) throws -> Int {
        guard start < end else { return 0 }
        var cut = query.filter
        (cut.since, cut.until) = (start, end)
        let (filter, arguments) = cut.whereClause(in: partition)
        return try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COUNT(*) FROM \(partition.table) \(filter)"), arguments: arguments) ?? 0
    }

    /// Forgets the minutes before `cutoffMs`, as retention drops their hours.
    static func drop(before cutoffMs: Int64, in db: Database) throws {
        try db.execute(sql: "DELETE FROM \(table) WHERE minute < ?", arguments: [cutoffMs / DNSRollup.minuteMs])
    }

    private struct Key: Hashable, Comparable {
        var minute: Int64
        var recordType: Int64

        static func < (a: Key, b: Key) -> Bool { (a.minute, a.recordType) < (b.minute, b.recordType) }
    }
}
