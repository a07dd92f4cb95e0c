import DNSFlowCore
import GRDB

/// Lookups per span of time, outcome and latency bucket, kept as they are inserted, for spans of 1, 5 and 30
/// minutes (a table each): a day's time series reads a few thousand rows instead of millions of lookups, or the
/// half a million of its minutes.
enum DNSRollup {
    static let minuteMs: Int64 = 60_000
    /// Finest first; each divides the next, and an hour.
    static let spans: [Int64] = [1, 5, 30].map { $0 * minuteMs }

    /// `minute` is the span's first minute since the epoch.
    static func table(_ spanMs: Int64) -> String {
        spanMs == minuteMs ? "dns_minutes" : "dns_minutes_\(spanMs / minuteMs)"
    }

    static let createSQL = spans.map { span in
        """
        CREATE TABLE \(table(span)) (
          minute INTEGER NOT NULL, outcome INTEGER NOT NULL, bucket INTEGER NOT NULL, lookups INTEGER NOT NULL,
          PRIMARY KEY (minute, outcome, bucket)) WITHOUT ROWID
        """
    }

    /// Adds the lookups among `records` (those with an outcome, as the top panels count them) to every span's
    /// table. Runs inside the inserting transaction.
    static func add(_ records: some Sequence<FlowRecord>, in db: Database) throws {
        var counts: [Key: Int] = [:]
        for record in records where record.dnsId != nil {
            guard let outcome = DNSOutcome.of(record) else { continue }
            let bucket = record.dnsLatencyNs.map { LatencyBuckets.bucket(latencyNs: Int64(clamping: $0)) }
            let minute = FlowRowID.clamp(record.timeFlowEndMs) / minuteMs
            counts[Key(minute: minute, outcome: outcome, bucket: bucket ?? LatencyBuckets.none), default: 0] += 1
        }
        guard !counts.isEmpty else { return }
        for span in spans {
            let minutes = span / minuteMs
            var spanCounts: [Key: Int] = [:]
            for (key, count) in counts {
                var start = key
                start.minute -= key.minute % minutes
                spanCounts[start, default: 0] += count
            }
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO \(table(span)) (minute, outcome, bucket, lookups) VALUES (?, ?, ?, ?)
                    ON CONFLICT (minute, outcome, bucket) DO UPDATE SET lookups = lookups + excluded.lookups
                    """)
            for (key, count) in spanCounts.sorted(by: { $0.key < $1.key }) {
                try statement.execute(arguments: [key.minute, key.outcome, key.bucket, count])
            }
        }
    }

    /// Adds the minutes in `query`'s window to `counts`, summed per step in SQL: the whole spans of the coarsest
    /// table whose span fits the steps, then the minutes from the last of those spans up to `until`.
    static func read(into counts: inout TimeSeriesCounts, _ query: TimeSeriesQuery, in db: Database) throws {
        let span = spans.last { query.stepMs % $0 == 0 && query.since % $0 == 0 } ?? minuteMs
        let first = query.since / minuteMs
        let end = (query.until + minuteMs - 1) / minuteMs
        let cut = min(max(first, query.until / span * span / minuteMs), end)
        try read(into: &counts, query, from: table(span), minutes: first..<cut, in: db)
        try read(into: &counts, query, from: table(minuteMs), minutes: cut..<end, in: db)
    }

    private static func read(
        into counts: inout TimeSeriesCounts, _ query: TimeSeriesQuery, from table: String, minutes: Range<Int64>,
        in db: Database
    ) throws {
        guard !minutes.isEmpty else { return }
        let key = query.metric == .rate ? "outcome" : "bucket"
        let rows = try Row.fetchCursor(
            db.cachedStatement(
                sql: """
                    SELECT (minute * \(minuteMs) - ?) / ?, \(key), SUM(lookups) FROM \(table)
                    WHERE minute >= ? AND minute < ? GROUP BY 1, 2
                    """),
            arguments: [query.since, query.stepMs, minutes.lowerBound, minutes.upperBound]
        )
        while let row = try rows.next() {
            let step: Int64 = row[0]
            counts.add(timeMs: query.since + step * query.stepMs, key: row[1], count: row[2])
        }
    }

    /// Forgets the minutes before `cutoffMs`, an hour's start, as retention drops their hours.
    static func drop(before cutoffMs: Int64, in db: Database) throws {
        for span in spans {
            try db.execute(sql: "DELETE FROM \(table(span)) WHERE minute < ?", arguments: [cutoffMs / minuteMs])
        }
    }

    private struct Key: Hashable, Comparable {
        var minute: Int64
        var outcome: Int64
        var bucket: Int64

        static func < (a: Key, b: Key) -> Bool { (a.minute, a.outcome, a.bucket) < (b.minute, b.outcome, b.bucket) }
    }
}
