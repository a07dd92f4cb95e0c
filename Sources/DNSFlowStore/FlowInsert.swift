import DNSFlowCore
import GRDB
import GRDBSQLite

/// One transaction's inserts: each record goes to its hour's table as it comes, its DNS id and name into that hour's
/// posting lists, which are written at the end, with the partitions' row counts.
enum FlowInsert {
    /// Creates the partitions that do not exist yet. Runs inside the caller's transaction.
    ///
    /// `sequence` numbers the rows (the low bits of their ids) and carries on from one call to the next.
    static func run(_ records: some Sequence<FlowRecord>, in db: Database, sequence: inout Int64) throws {
        var finished: [FlowPartition: PartitionInsert] = [:]
        // Rows of one batch almost always share a partition: the dictionary is consulted when the hour changes.
        var current: PartitionInsert?
        for record in records {
            let partition = FlowPartition(containing: record.timeFlowEndMs)
            if current?.partition != partition {
                if let current { finished[current.partition] = current }
                // Taken out, so that adding to it does not copy its lists.
                current = try finished.removeValue(forKey: partition) ?? PartitionInsert(partition, in: db)
            }
            try current?.add(record, sequence: &sequence)
        }
        if let current { finished[current.partition] = current }
        for var insert in finished.values { try insert.finish(in: db, sequence: &sequence) }
    }
}

/// One partition's share of a transaction.
private struct PartitionInsert {
    /// Rows per multi-row INSERT: one statement keeps its cursor on the table's last page, where time-ordered rows
    /// append; a statement per row seeks that page anew and pays for a run of its own.
    static let rowsPerStatement = 64

    let partition: FlowPartition
    /// The posting run this transaction's lists go to.
    private let run: Int64
    private var row: StatementBinding
    private var rows: StatementBinding
    /// Records with their ids, waiting for a full statement's worth.
    private var pending: [(record: FlowRecord, id: Int64)] = []
    /// (key, row id) pairs, grouped into lists at the end: appending costs less than a dictionary of arrays.
    private var dnsIds: [(key: Int64, id: Int64)] = []
    private var names: [(key: Int64, id: Int64)] = []
    private var count = 0

    init(_ partition: FlowPartition, in db: Database) throws {
        self.partition = partition
        let rows = try Int64.fetchOne(
            db, sql: "SELECT rows FROM \(FlowSchema.partitions) WHERE hour = ?", arguments: [partition.hour])
        if rows == nil { try partition.create(db) }
        run = FlowPostings.run(rowsBefore: rows ?? 0)
        // Not cached: a statement per partition would outlive the partition's table in GRDB's cache.
        row = StatementBinding(try db.makeStatement(sql: FlowRow.insertSQL(partition.table)))
        self.rows = StatementBinding(
            try db.makeStatement(sql: FlowRow.insertSQL(partition.table, rows: Self.rowsPerStatement)))
    }

    mutating func add(_ record: FlowRecord, sequence: inout Int64) throws {
        pending.append((record, FlowRowID.make(timeMs: record.timeFlowEndMs, sequence: sequence)))
        sequence += 1
        if pending.count == Self.rowsPerStatement { try insertPending(sequence: &sequence) }
    }

    /// A full statement's worth goes in at once; fewer rows, or rows of which one collided, one by one.
    private mutating func insertPending(sequence: inout Int64) throws {
        if pending.count == Self.rowsPerStatement {
            rows.start()
            for (record, id) in pending { FlowRow.bind(record, id: id, to: &rows) }
            let code = rows.step()
            if code == SQLITE_DONE {
                for (record, id) in pending { list(record, id: id) }
                pending.removeAll(keepingCapacity: true)
                return
            }
            // An id collided: the statement inserted none of its rows, which go in one by one below.
            guard code & 0xFF == SQLITE_CONSTRAINT else { throw rows.error(code) }
        }
        for (record, id) in pending { list(record, id: try insertRow(record, id: id, sequence: &sequence)) }
        pending.removeAll(keepingCapacity: true)
    }

    private mutating func list(_ record: FlowRecord, id: Int64) {
        if let dnsId = record.dnsId { dnsIds.append((Int64(dnsId), id)) }
        if let name = record.dnsName { names.append((FlowPostings.nameHash(name), id)) }
        count += 1
    }

    /// Returns the row's id. Two flows that ended in the same millisecond with the same sequence modulo 2^20 collide
    /// (late records, a restarted collector): the second takes the next sequence.
    private mutating func insertRow(_ record: FlowRecord, id: Int64, sequence: inout Int64) throws -> Int64 {
        var id = id
        row.start()
        FlowRow.bind(record, id: id, to: &row)
        // Only the id can collide: the other constraints are NOT NULLs, which hold.
        for _ in 0...FlowRowID.sequenceMask {
            let code = row.step()
            if code == SQLITE_DONE { return id }
            guard code & 0xFF == SQLITE_CONSTRAINT else { throw row.error(code) }
            id = FlowRowID.make(timeMs: record.timeFlowEndMs, sequence: sequence)
            sequence += 1
            row.rebindFirst(id)
        }
        throw row.error(SQLITE_CONSTRAINT)
    }

    mutating func finish(in db: Database, sequence: inout Int64) throws {
        try insertPending(sequence: &sequence)
        try write(dnsIds, .dnsId, in: db)
        try write(names, .dnsName, in: db)
        try db.execute(
            sql: """
                INSERT INTO \(FlowSchema.partitions) (hour, rows) VALUES (?, ?)
                ON CONFLICT (hour) DO UPDATE SET rows = rows + excluded.rows
                """,
            arguments: [partition.hour, count]
        )
    }

    private func write(_ pairs: [(key: Int64, id: Int64)], _ postings: FlowPostings, in db: Database) throws {
        guard !pairs.isEmpty else { return }
        var binding = StatementBinding(try db.makeStatement(sql: postings.insertSQL(partition)))
        // In key order, so that consecutive inserts land next to each other in the B-tree; each key's ids ascending,
        // so the first is the smallest.
        let sorted = pairs.sorted { ($0.key, $0.id) < ($1.key, $1.id) }
        var start = sorted.startIndex
        while start < sorted.endIndex {
            let key = sorted[start].key
            let end = sorted[start...].firstIndex { $0.key != key } ?? sorted.endIndex
            binding.start()
            binding.integer(run)
            binding.integer(key)
            binding.integer(sorted[start].id)
            binding.json(integers: sorted[start..<end].lazy.map(\.id))
            let code = binding.step()
            guard code == SQLITE_DONE else { throw binding.error(code) }
            start = end
        }
    }
}
