import DNSFlowCore

/// Every statement the ClickHouse store sends, in one place. Only SQL that ClickHouse 18.16 (Debian's) and current
/// servers both accept; docs/COLLECTOR.md lists what a current server alone would allow.
///
/// Values are spliced as literals (18.16 has no query parameters): integers as digits, text through `literal`,
/// bytes through `unhex`; table and database names are identifiers checked by `ClickHouseEndpoint`.
struct ClickHouseSchema: Sendable {
    /// The table each server holds its own rows in.
    static let localTable = "flows"
    /// The Distributed table over a cluster's `localTable`s.
    static let clusterTable = "flows_all"
    /// Lookups per minute, outcome and latency bucket (SQLite's `dns_minutes`), summed by ClickHouse as it merges;
    /// `rollupView` fills it from every insert into `localTable`.
    static let rollupTable = "dns_minutes"
    static let rollupClusterTable = "dns_minutes_all"
    static let rollupView = "dns_minutes_view"

    let database: String
    let cluster: String?

    init(endpoint: ClickHouseEndpoint) {
        database = endpoint.database
        cluster = endpoint.cluster
    }

    /// Where queries read: the whole cluster, or the one server.
    var readTable: String { "\(database).\(cluster == nil ? Self.localTable : Self.clusterTable)" }
    var writeTable: String { "\(database).\(Self.localTable)" }
    var rollupReadTable: String { "\(database).\(cluster == nil ? Self.rollupTable : Self.rollupClusterTable)" }
    var rollupWriteTable: String { "\(database).\(Self.rollupTable)" }

    // MARK: Schema

    /// In order; each is idempotent, so every collector runs them at start.
    var create: [String] {
        let columns = ClickHouseRow.fields.map { "\($0.clickHouseColumn.name) \($0.clickHouseColumn.type)" }
        // Partitioned by the hour the flow ended, as SQLite's tables are: retention drops whole hours.
        // Sorted by DNS id, then time: a lookup by id reads a granule or two per part, and within an id (or the
        // flows, which have none) rows are in time order for the window and the newest-first page. Granules of
        // 1,024 rows rather than 8,192: a lookup reads every column of its granules, 37 of them.
        var statements = [
            "CREATE DATABASE IF NOT EXISTS \(database)",
            """
            CREATE TABLE IF NOT EXISTS \(writeTable) (\(columns.joined(separator: ", ")))
            ENGINE = MergeTree() PARTITION BY intDiv(time_flow_end_ms, \(FlowPartition.spanMs))
            ORDER BY (dns_id, time_flow_end_ms) SETTINGS index_granularity = 1024
            """,
            // Partitioned by the hour too, so that retention drops the rollup's hours with the rows'.
            """
            CREATE TABLE IF NOT EXISTS \(rollupWriteTable) (minute_ms Int64, outcome Int64, bucket Int64, lookups UInt64)
            ENGINE = SummingMergeTree() PARTITION BY intDiv(minute_ms, \(FlowPartition.spanMs))
            ORDER BY (minute_ms, outcome, bucket)
            """,
            """
            CREATE MATERIALIZED VIEW IF NOT EXISTS \(database).\(Self.rollupView) TO \(rollupWriteTable) AS
            SELECT intDiv(time_flow_end_ms, \(DNSRollup.minuteMs)) * \(DNSRollup.minuteMs) AS minute_ms,
            \(Self.outcomeKey) AS outcome, \(Self.bucketKey) AS bucket, count() AS lookups
            FROM \(writeTable) WHERE \(Self.outcome) GROUP BY minute_ms, outcome, bucket
            """,
        ]
        if let cluster {
            statements += [
                """
                CREATE TABLE IF NOT EXISTS \(database).\(Self.clusterTable) AS \(writeTable)
                ENGINE = Distributed(\(cluster), \(database), \(Self.localTable), rand())
                """,
                """
                CREATE TABLE IF NOT EXISTS \(database).\(Self.rollupClusterTable) AS \(rollupWriteTable)
                ENGINE = Distributed(\(cluster), \(database), \(Self.rollupTable))
                """,
            ]
        }
        return statements
    }

    var insert: String { "INSERT INTO \(writeTable) (\(ClickHouseRow.selection)) FORMAT RowBinary" }

    // MARK: Queries

    /// Newest first (or slowest first, rows without a latency last, as SQLite orders them); flows that ended in the
    /// same millisecond in a fixed order, so that every collector (and every shard order of a Distributed read)
    /// returns the same page.
    func page(_ query: FlowQuery) -> String {
        let order =
            switch query.order {
            case .time: ""
            case .latency: "isNull(dns_latency_ns), assumeNotNull(dns_latency_ns) DESC, "
            }
        return """
            SELECT \(ClickHouseRow.selection) FROM \(readTable) \(Self.filter(query))
            ORDER BY \(order)time_flow_end_ms DESC, dns_id, src_addr, src_port, dst_addr, dst_port, node_name
            LIMIT \(query.offset), \(query.limit) FORMAT RowBinary
            """
    }

    /// The end time of a newest-first page's last row, read from that one column. The page then reads the rows from
    /// that time on, the hours before it skipped; without it, ORDER BY … LIMIT reads every column of every row in the
    /// window (18.16 cannot read a part in sort order), minutes for a store of 100 M.
    func pageBound(_ query: FlowQuery) -> String? {
        guard query.order == .time, query.limit > 0 else { return nil }
        return """
            SELECT time_flow_end_ms FROM \(readTable) \(Self.filter(query)) ORDER BY time_flow_end_ms DESC
            LIMIT \(query.offset + query.limit - 1), 1 FORMAT RowBinary
            """
    }

    func count(_ query: FlowQuery) -> String {
        "SELECT count() FROM \(readTable) \(Self.filter(query)) FORMAT RowBinary"
    }

    var countAll: String { "SELECT count() FROM \(readTable) FORMAT RowBinary" }

    /// The (key columns, latency, failed) of a window's newest transaction outcomes, as SQLite's `top` reads them:
    /// the ranking is the same Swift code for both stores.
    func topSamples(_ query: TopQuery) -> String {
        let keys =
            switch query.by {
            case .latency: "\(Self.client), \(Self.server)"
            case .rcode: "dns_rcode"
            case .name: "ifNull(dns_name, '')"
            case .client: "coalesce(net_ns_name, container_id), \(Self.client)"
            case .server: "dst_addr"
            case .comm: "ifNull(comm, '')"
            }
        return """
            SELECT \(keys), dns_latency_ns, toUInt8(\(Self.failed)) FROM \(readTable)
            \(Self.filter(query.filter, and: Self.outcome))
            ORDER BY time_flow_end_ms DESC LIMIT \(TopQuery.maxWindowRows) FORMAT RowBinary
            """
    }

    /// (step, key, count) rows of `query`'s lookups, the key their outcome (`DNSOutcome`) or latency bucket
    /// (`LatencyBuckets`). A window of whole minutes with no other filter (`fitsRollup`) reads the rollup, up to the
    /// end of `until`'s minute, as SQLite's does; any other reads the window's rows.
    func timeSeries(_ query: TimeSeriesQuery) -> String {
        let stepMs = query.stepMs
        if query.fitsRollup {
            let minute = DNSRollup.minuteMs
            let until = (query.until + minute - 1) / minute * minute
            return """
                SELECT intDiv(minute_ms - \(query.since), \(stepMs)) AS step, \(query.metric == .rate ? "outcome" : "bucket")
                AS key, sum(lookups) FROM \(rollupReadTable) WHERE minute_ms >= \(query.since) AND minute_ms < \(until)
                GROUP BY step, key FORMAT RowBinary
                """
        }
        let key = query.metric == .rate ? Self.outcomeKey : Self.bucketKey
        return """
            SELECT intDiv(time_flow_end_ms - \(query.since), \(stepMs)) AS step, \(key) AS key, count()
            FROM \(readTable) \(Self.filter(query.filter, and: Self.outcome)) GROUP BY step, key FORMAT RowBinary
            """
    }

    /// (bucket index, count) rows, the index into `LatencyBucket.bounds` or its count for the open bucket.
    func histogram(since: Int64?, until: Int64?) -> String {
        // The window excludes NULL latencies; without assumeNotNull the bucket would be Nullable.
        let arms = LatencyBucket.bounds.enumerated().map {
            "assumeNotNull(dns_latency_ns) < \(FlowQuery.nanoseconds($1)), \($0)"
        }
        let window = FlowQuery(since: since, until: until)
        return """
            SELECT toUInt32(multiIf(\(arms.joined(separator: ", ")), \(LatencyBucket.bounds.count))) AS b, count()
            FROM \(readTable) \(Self.filter(window, and: "dns_latency_ns IS NOT NULL")) GROUP BY b FORMAT RowBinary
            """
    }

    // MARK: Retention

    /// This server's hours (partition values) before `hour`, with their row counts.
    func partitions(before hour: Int64) -> String {
        """
        SELECT toInt64(partition) AS hour, toUInt64(sum(rows)) FROM system.parts
        WHERE database = \(Self.literal(database)) AND table = \(Self.literal(Self.localTable)) AND active
        GROUP BY hour HAVING hour < \(hour) FORMAT RowBinary
        """
    }

    /// The hour's rows and its rollup.
    func dropPartition(hour: Int64) -> [String] {
        [writeTable, rollupWriteTable].map { "ALTER TABLE \($0) DROP PARTITION \(hour)" }
    }

    // MARK: Filters

    /// The WHERE clause of `query` (empty when unfiltered), `condition` a fixed term narrowing it further. The terms
    /// are SQLite's (`FlowQuery.whereClause`); 18.16's OR is NULL when either side is, hence the `ifNull`s.
    static func filter(_ query: FlowQuery, and condition: String? = nil) -> String {
        var terms = condition.map { [$0] } ?? []
        if let dnsId = query.dnsId { terms.append("dns_id = \(dnsId)") }
        if let name = query.dnsName {
            // Names compare case-insensitively, as SQLite's NOCASE does.
            let lowered = name.lowercased()
            terms.append(
                name.contains("*")
                    ? "lower(dns_name) LIKE \(literal(FlowQuery.likePattern(glob: lowered)))"
                    : "lower(dns_name) = \(literal(lowered))")
        }
        if let recordType = query.recordType { terms.append("record_type = \(recordType.rawValue)") }
        if let rcode = query.rcode { terms.append("dns_rcode = \(rcode.rawValue)") }
        if let min = query.minLatencyMs { terms.append("dns_latency_ns >= \(FlowQuery.nanoseconds(min))") }
        if let max = query.maxLatencyMs { terms.append("dns_latency_ns <= \(FlowQuery.nanoseconds(max))") }
        if let errno = query.errno { terms.append("dns_errno = \(errno)") }
        if let src = query.srcAddr { terms.append("src_addr = \(bytes(src.bytes))") }
        if let dst = query.dstAddr { terms.append("dst_addr = \(bytes(dst.bytes))") }
        if let port = query.port { terms.append("(src_port = \(port) OR dst_port = \(port))") }
        if let node = query.node { terms.append("node_name = \(literal(node))") }
        if let client = query.client {
            if let address = IPAddress(client) {
                terms.append("src_addr = \(bytes(address.bytes))")
            } else {
                let name = literal(client)
                terms.append("(ifNull(net_ns_name = \(name), 0) OR ifNull(container_id = \(name), 0))")
            }
        }
        if let comm = query.comm { terms.append("comm = \(literal(comm))") }
        if let server = query.server {
            let address = bytes(server.bytes)
            terms.append("(dst_addr = \(address) OR ifNull(xlat_dst_addr = \(address), 0))")
        }
        if query.errorsOnly { terms.append(failed) }
        if let since = query.since { terms.append("time_flow_end_ms >= \(since)") }
        if let until = query.until { terms.append("time_flow_end_ms < \(until)") }
        return terms.isEmpty ? "" : "WHERE " + terms.joined(separator: " AND ")
    }

    /// The records that carry a transaction's outcome (a response's rcode, or an errno for timeouts and orphans),
    /// not the query-side records that only name it.
    static let outcome = "dns_id != \(ClickHouseRow.noDNSId) AND (dns_rcode IS NOT NULL OR dns_errno IS NOT NULL)"
    /// `FlowQuery.failed`: an error response code, or an errno.
    static let failed = "(ifNull(dns_rcode != 0, 0) OR ifNull(dns_errno != 0, 0))"
    /// `DNSOutcome`: the response code, or 256 + the errno.
    static let outcomeKey = "ifNull(toInt64(dns_rcode), 256 + assumeNotNull(toInt64(dns_errno)))"
    /// `LatencyBuckets.bucket(latencyNs:)`, `LatencyBuckets.none` without a latency.
    static let bucketKey = """
        if(isNull(dns_latency_ns), toInt64(\(LatencyBuckets.none)), if(assumeNotNull(dns_latency_ns) < 1000, \
        toInt64(0), 1 + toInt64(floor(log(assumeNotNull(dns_latency_ns) / 1000) / log(\(LatencyBuckets.ratio))))))
        """
    // The client is the side that is not the DNS server port.
    static let client = "if(dst_port = 53, src_addr, dst_addr)"
    static let server = "if(dst_port = 53, dst_addr, src_addr)"

    /// A string literal: backslash and quote escaped, the only characters special inside quotes.
    static func literal(_ text: String) -> String {
        var out = "'"
        for ch in text.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "'"
    }

    static func bytes(_ value: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF")
        return "unhex('" + String(value.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }) + "')"
    }
}
