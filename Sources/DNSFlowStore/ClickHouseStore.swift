import DNSFlowCore
import Logging
import Synchronization

/// The ClickHouse flow store. It keeps no state of its own but whether the schema was made, so any number of
/// collectors can share one server, or a cluster of shards (`ClickHouseEndpoint.cluster`).
///
/// The schema is made on first use, not at start: a collector whose ClickHouse is down starts, answers 503 to
/// ingest, and makes the tables once the server is back.
public final class ClickHouseStore: Sendable {
    /// ClickHouse writes a part per INSERT and merges them later: fewer, larger inserts cost it less.
    public static let maxRowsPerInsert = 200_000

    public let endpoint: ClickHouseEndpoint
    private let client: ClickHouseClient
    private let schema: ClickHouseSchema
    private let schemaMade = Mutex(false)

    public init(endpoint: ClickHouseEndpoint, retry: ClickHouseRetry = ClickHouseRetry(), logger: Logger) {
        self.endpoint = endpoint
        client = ClickHouseClient(endpoint: endpoint, retry: retry, logger: logger)
        schema = ClickHouseSchema(endpoint: endpoint)
    }

    /// Makes the database and tables unless this store already did; concurrent callers both run the idempotent DDL.
    private func prepare() async throws(ClickHouseError) {
        guard !schemaMade.withLock({ $0 }) else { return }
        for statement in schema.create { _ = try await client.execute(statement, database: nil) }
        schemaMade.withLock { $0 = true }
    }

    /// One INSERT for all records, acknowledged once ClickHouse has written them; retried on transient failures.
    public func insert(_ records: some Collection<FlowRecord> & Sendable) async throws(StoreError) {
        guard !records.isEmpty else { return }
        var rows = RowBinaryWriter(capacity: records.count * 256)
        for record in records { ClickHouseRow.encode(record, into: &rows) }
        do {
            try await prepare()
            try await client.insert(schema.insert, rows: rows.bytes)
        } catch {
            throw .write(error)
        }
    }

    public func query(_ query: FlowQuery) async throws(StoreError) -> FlowPage {
        // The count beside the page: two round trips in the time of one.
        async let counts = read(schema.count(query)) { try $0.integer(UInt64.self) }
        do {
            var page = query
            if let bound = schema.pageBound(query),
                let lastEnd = try await read(bound, { try $0.integer(Int64.self) }).first
            {
                page.since = max(query.since ?? lastEnd, lastEnd)
            }
            let (flows, total) = try await (read(schema.page(page)) { try ClickHouseRow.decode(&$0) }, counts)
            return FlowPage(flows: flows, total: Int(total.first ?? 0))
        } catch let error as StoreError {
            throw error
        } catch {
            throw .query(error)
        }
    }

    public func top(_ query: TopQuery) async throws(StoreError) -> [TopEntry] {
        let samples = try await read(schema.topSamples(query)) { reader -> TopSample in
            let key: String
            switch query.by {
            case .latency:
                let client = ClickHouseRow.address(try reader.bytes())
                key = "\(client) → \(ClickHouseRow.address(try reader.bytes()))"
            case .rcode: key = try reader.optionalInteger(UInt8.self).map { DNSResponseCode(rawValue: $0).name } ?? ""
            case .name, .comm: key = try reader.string()
            case .client:
                let name = try reader.optionalString()
                let address = ClickHouseRow.address(try reader.bytes())
                key = name ?? address.text
            case .server: key = ClickHouseRow.address(try reader.bytes()).text
            }
            let latency = try reader.optionalInteger(UInt64.self).map { Double($0) / 1e6 }
            return TopSample(key: key, latency: latency, failed: try reader.integer(UInt8.self) != 0)
        }
        return TopRanking.rank(samples, query: query)
    }

    public func timeSeries(_ query: TimeSeriesQuery) async throws(StoreError) -> TimeSeries {
        let rows = try await read(schema.timeSeries(query)) { reader in
            (
                step: try reader.integer(Int64.self), key: try reader.integer(Int64.self),
                count: try reader.integer(UInt64.self)
            )
        }
        var counts = TimeSeriesCounts(query)
        for row in rows {
            counts.add(timeMs: query.since + row.step * query.stepMs, key: row.key, count: Int(row.count))
        }
        return counts.series
    }

    public func latencyHistogram(since: Int64?, until: Int64?) async throws(StoreError) -> [LatencyBucket] {
        let rows = try await read(schema.histogram(since: since, until: until)) { reader in
            (Int(try reader.integer(UInt32.self)), Int(try reader.integer(UInt64.self)))
        }
        let counts = Dictionary(rows, uniquingKeysWith: +)
        let uppers = LatencyBucket.bounds.map(Optional.some) + [nil]
        return uppers.enumerated().map { LatencyBucket(upperMs: $1, count: counts[$0] ?? 0) }
    }

    public func count() async throws(StoreError) -> Int {
        Int(try await read(schema.countAll) { try $0.integer(UInt64.self) }.first ?? 0)
    }

    /// Drops this server's hours that ended at or before `cutoffMs`; returns the flows they held. With a cluster,
    /// each shard's collectors drop that shard's hours.
    @discardableResult
    public func dropPartitions(endedBefore cutoffMs: Int64) async throws(StoreError) -> Int {
        do {
            try await prepare()
            let hour = FlowPartition(containing: cutoffMs).hour
            let expired = try Self.decode(try await client.execute(schema.partitions(before: hour))) { reader in
                (try reader.integer(Int64.self), try reader.integer(UInt64.self))
            }
            for (hour, _) in expired {
                for statement in schema.dropPartition(hour: hour) { _ = try await client.execute(statement) }
            }
            return expired.reduce(0) { $0 + Int($1.1) }
        } catch {
            throw .retention(error)
        }
    }

    /// Runs a SELECT and decodes its RowBinary rows with `row`.
    private func read<Row>(
        _ sql: String, _ row: (inout RowBinaryReader) throws -> Row
    ) async throws(StoreError) -> [Row] {
        do {
            try await prepare()
            return try Self.decode(try await client.execute(sql), row)
        } catch {
            throw .query(error)
        }
    }

    private static func decode<Row>(
        _ bytes: [UInt8], _ row: (inout RowBinaryReader) throws -> Row
    ) throws(ClickHouseError) -> [Row] {
        var reader = RowBinaryReader(bytes)
        var rows: [Row] = []
        do {
            while !reader.isAtEnd { rows.append(try row(&reader)) }
        } catch {
            throw .answer(error)
        }
        return rows
    }
}
