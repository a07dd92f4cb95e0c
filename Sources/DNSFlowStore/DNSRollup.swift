import DNSFlowCore
import GRDB

/// Lookups per minute, outcome and latency bucket, kept as they are inserted: a day's time series reads a few
/// thousand of these rows instead of millions of lookups.
enum DNSRollup {
    static let table = "dns_minutes"
    static let minuteMs: Int64 = 60_000

    static let createSQL = """
        CREATE TABLE \(table) (
          minute INTEGER NOT NULL, outcome INTEGER NOT NULL, bucket INTEGER NOT NULL, lookups INTEGER NOT NULL,
          PRIMARY KEY (minute, outcome, bucket)) WITHOUT ROWID
        """

    /// Adds the lookups among `records` (those with an outcome, as the top panels count them). Runs inside the
    /// inserting transaction.
    static func add(_ records: some Sequence<FlowRecord>, in db: Database) throws {
        var counts: [Key: Int] = [:]
        for record in records where record.dnsId != nil {
            guard let outcome = DNSOutcome.of(record) else { continue }
            let bucket = record.dnsLatencyNs.map { LatencyBuckets.bucket(latencyNs: Int64(clamping: $0)) }
            let minute = FlowRowID.clamp(record.timeFlowEndMs) / minuteMs
            counts[Key(minute: minute, outcome: outcome, bucket: bucket ?? LatencyBuckets.none), default: 0] += 1
        }
        guard !counts.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (minute, outcome, bucket, lookups) VALUES (?, ?, ?, ?)
                ON CONFLICT (minute, outcome, bucket) DO UPDATE SET lookups = lookups + excluded.lookups
                """)
        for (key, count) in counts.sorted(by: { $0.key < $1.key }) {
            try statement.execute(arguments: [key.minute, key.outcome, key.bucket, count])
        }
    }

    /// Adds the minutes in `query`'s window to `counts`, summed per step in SQL: a day is half a million rows.
    static func read(into counts: inout TimeSeriesCounts, _ query: TimeSeriesQuery, in db: Database) throws {
        let key = query.metric == .rate ? "outcome" : "bucket"
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT (minute * \(minuteMs) - ?) / ?, \(key), SUM(lookups) FROM \(table)
                    WHERE minute >= ? AND minute < ? GROUP BY 1, 2
                    """),
            arguments: [
                query.since, query.stepMs, query.since / minuteMs, (query.until + minuteMs - 1) / minuteMs,
            ]
        )
        while let row = try rows.next() {
            let step: Int64 = row[0]
            counts.add(timeMs: query.since + step * query.stepMs, key: row[1], count: row[2])
        }
    }

    /// Forgets the minutes before `cutoffMs`, as retention drops their hours.
    static func drop(before cutoffMs: Int64, in db: Database) throws {
        try db.execute(sql: "DELETE FROM \(table) WHERE minute < ?", arguments: [cutoffMs / minuteMs])
    }

    private struct Key: Hashable, Comparable {
        var minute: Int64
        var outcome: Int64
        var bucket: Int64

        static func < (a: Key, b: Key) -> Bool { (a.minute, a.outcome, a.bucket) < (b.minute, b.outcome, b.bucket) }
    }
}
