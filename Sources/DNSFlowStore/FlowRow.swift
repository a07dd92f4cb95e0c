import DNSFlowCore
import Foundation
import GRDB
import GRDBSQLite

/// How a `FlowRecord` maps onto a partition's row: one column per field, the two arrays as JSON text, the end time
/// folded into the row id (`FlowRowID`), and a hash of the name for the name index.
enum FlowRow {
    /// In binding order; `selection` reads the same order back, without the hash.
    static let columns = [
        "id", "src_addr", "dst_addr", "src_port", "dst_port", "proto", "etype", "bytes", "packets",
        "time_flow_start_ms", "interfaces", "if_directions", "flags", "net_ns", "node_name", "dns_id", "dns_flags",
        "dns_rcode", "dns_latency_ms", "dns_name", "dns_qtype", "dns_errno", "dns_name_hash",
    ]

    static let selection = columns.dropLast().joined(separator: ", ")
    static let selectedColumns = columns.count - 1

    static func createTableSQL(_ table: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
          id INTEGER PRIMARY KEY, src_addr TEXT NOT NULL, dst_addr TEXT NOT NULL, src_port INTEGER NOT NULL,
          dst_port INTEGER NOT NULL, proto INTEGER NOT NULL, etype INTEGER NOT NULL, bytes INTEGER NOT NULL,
          packets INTEGER NOT NULL, time_flow_start_ms INTEGER NOT NULL, interfaces TEXT NOT NULL,
          if_directions TEXT NOT NULL, flags INTEGER NOT NULL, net_ns INTEGER NOT NULL, node_name TEXT NOT NULL,
          dns_id INTEGER, dns_flags INTEGER, dns_rcode TEXT, dns_latency_ms REAL,
          -- NOCASE: DNS names compare case-insensitively.
          dns_name TEXT COLLATE NOCASE, dns_qtype TEXT, dns_errno INTEGER, dns_name_hash INTEGER)
        """
    }

    static func insertSQL(_ table: String) -> String {
        "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
    }

    /// The single table of schema v1, which migration v2 moves into partitions.
    static let createTableV1SQL = """
        CREATE TABLE flows (
          id INTEGER PRIMARY KEY, src_addr TEXT NOT NULL, dst_addr TEXT NOT NULL, src_port INTEGER NOT NULL,
          dst_port INTEGER NOT NULL, proto INTEGER NOT NULL, etype INTEGER NOT NULL, bytes INTEGER NOT NULL,
          packets INTEGER NOT NULL, time_flow_start_ms INTEGER NOT NULL, time_flow_end_ms INTEGER NOT NULL,
          interfaces TEXT NOT NULL, if_directions TEXT NOT NULL, flags INTEGER NOT NULL, net_ns INTEGER NOT NULL,
          node_name TEXT NOT NULL, dns_id INTEGER, dns_flags INTEGER, dns_rcode TEXT, dns_latency_ms DOUBLE,
          dns_name TEXT COLLATE NOCASE, dns_qtype TEXT, dns_errno INTEGER, received_at INTEGER NOT NULL)
        """

    /// v1's columns in the order of `selection`, its end time as a row id.
    static let selectionFromV1 = (["MIN(MAX(time_flow_end_ms, 0), \(FlowRowID.maxTimeMs)) << \(FlowRowID.sequenceBits)"]
        + columns.dropFirst().dropLast()).joined(separator: ", ")

    /// Inserts `records` into their partitions, creating those that do not exist yet, and counts them in
    /// `flow_partitions`. Runs inside the caller's transaction.
    ///
    /// `sequence` numbers the rows (the low bits of their ids) and carries on from one call to the next. Two
    /// flows that ended in the same millisecond with the same sequence modulo 2^20 collide; the second takes
    /// the next number.
    static func insert(_ records: some Sequence<FlowRecord>, into db: Database, sequence: inout Int64) throws {
        var counts: [FlowPartition: Int] = [:]
        // Rows of one batch almost always share a partition: the dictionary is consulted when the hour changes.
        var bindings: [FlowPartition: RowBinding] = [:]
        var current: (partition: FlowPartition, row: RowBinding)?
        for record in records {
            let partition = FlowPartition(containing: record.timeFlowEndMs)
            if current?.partition != partition {
                if let current { bindings[current.partition] = current.row }
                current = (partition, try bindings[partition] ?? RowBinding(prepare(partition, in: db)))
            }
            try current!.row.insert(record, sequence: &sequence)
            counts[partition, default: 0] += 1
        }
        for (partition, count) in counts {
            try db.execute(
                sql: """
                    INSERT INTO \(FlowSchema.partitions) (hour, rows) VALUES (?, ?)
                    ON CONFLICT (hour) DO UPDATE SET rows = rows + excluded.rows
                    """,
                arguments: [partition.hour, count]
            )
        }
    }

    private static func prepare(_ partition: FlowPartition, in db: Database) throws -> Statement {
        let known = try Bool.fetchOne(
            db, sql: "SELECT 1 FROM \(FlowSchema.partitions) WHERE hour = ?", arguments: [partition.hour]) ?? false
        if !known { try partition.create(db) }
        // Not cached: a statement per partition would outlive the partition's table in GRDB's cache.
        return try db.makeStatement(sql: insertSQL(partition.table))
    }

    /// FNV-1a over the name's bytes, ASCII letters lowercased as NOCASE compares them.
    static func nameHash(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            hash = (hash ^ UInt64(folded)) &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Decodes a row selected with `selection`, by position: faster than by name on large pages.
    static func record(_ row: Row) -> FlowRecord {
        FlowRecord(
            srcAddr: row[1], dstAddr: row[2], srcPort: row[3], dstPort: row[4], proto: row[5], etype: row[6],
            bytes: UInt64(bitPattern: row[7]), packets: UInt64(bitPattern: row[8]), timeFlowStartMs: row[9],
            timeFlowEndMs: FlowRowID.timeMs(row[0]), interfaces: fromJSON(row[10]) ?? [],
            ifDirections: fromJSON(row[11]) ?? [], flags: row[12], netNs: row[13], nodeName: row[14], dnsId: row[15],
            dnsFlags: row[16], dnsFlagsResponseCode: row[17], dnsLatencyMs: row[18], dnsName: row[19],
            dnsQType: row[20], dnsErrno: row[21]
        )
    }

    private static func fromJSON<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

/// Binds one row's values to consecutive parameters of a partition's insert statement, through SQLite's C API:
/// GRDB's `StatementArguments` box and validate every value of every row, which costs more than SQLite's own insert.
private struct RowBinding {
    // SQLITE_TRANSIENT: SQLite copies the value, so Swift's buffers need only live through the bind call.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    private static let hex = Array("0123456789abcdef".utf8)

    /// Kept alive here: the statement is finalized with its last binding.
    private let owner: Statement
    private let statement: OpaquePointer
    private(set) var column: CInt = 0
    /// The first bind error of the row; binds only fail on misuse or an out-of-memory, never on a value.
    private(set) var failure: CInt?
    /// Reused for the JSON columns, so encoding them allocates nothing once it has grown.
    private var json: [UInt8] = []

    init(_ statement: Statement) {
        owner = statement
        self.statement = statement.sqliteStatement
    }

    mutating func insert(_ r: FlowRecord, sequence: inout Int64) throws {
        sqlite3_reset(statement)
        column = 0
        failure = nil
        integer(FlowRowID.make(timeMs: r.timeFlowEndMs, sequence: sequence))
        text(r.srcAddr)
        text(r.dstAddr)
        integer(r.srcPort)
        integer(r.dstPort)
        integer(r.proto)
        integer(r.etype)
        integer(Int64(bitPattern: r.bytes))
        integer(Int64(bitPattern: r.packets))
        integer(r.timeFlowStartMs)
        json(strings: r.interfaces)
        json(numbers: r.ifDirections)
        integer(r.flags)
        integer(r.netNs)
        text(r.nodeName)
        integer(r.dnsId)
        integer(r.dnsFlags)
        text(r.dnsFlagsResponseCode)
        double(r.dnsLatencyMs)
        text(r.dnsName)
        text(r.dnsQType)
        integer(r.dnsErrno)
        integer(r.dnsName.map(FlowRow.nameHash))
        assert(Int(column) == FlowRow.columns.count, "one binding per column, in the order of `FlowRow.columns`")
        var code = SQLITE_OK
        // Only the id can collide (the other constraints are NOT NULLs, which hold): then the next sequence.
        for _ in 0...FlowRowID.sequenceMask {
            sequence += 1
            code = failure ?? sqlite3_step(statement)
            guard code & 0xFF == SQLITE_CONSTRAINT else { break }
            sqlite3_reset(statement)
            check(sqlite3_bind_int64(statement, 1, FlowRowID.make(timeMs: r.timeFlowEndMs, sequence: sequence)))
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code),
                message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))), sql: owner.sql
            )
        }
    }

    private mutating func check(_ code: CInt) {
        if code != SQLITE_OK, failure == nil { failure = code }
    }

    private mutating func next() -> CInt {
        column += 1
        return column
    }

    mutating func integer(_ value: (some BinaryInteger)?) {
        let index = next()
        check(value.map { sqlite3_bind_int64(statement, index, Int64($0)) } ?? sqlite3_bind_null(statement, index))
    }

    mutating func double(_ value: Double?) {
        let index = next()
        check(value.map { sqlite3_bind_double(statement, index, $0) } ?? sqlite3_bind_null(statement, index))
    }

    mutating func text(_ value: String?) {
        let index = next()
        guard var value else { return check(sqlite3_bind_null(statement, index)) }
        check(value.withUTF8 { utf8 in Self.bindText(statement, index, utf8) })
    }

    mutating func json(strings: [String]) {
        json.removeAll(keepingCapacity: true)
        json.append(UInt8(ascii: "["))
        for (n, string) in strings.enumerated() {
            if n > 0 { json.append(UInt8(ascii: ",")) }
            Self.appendJSONString(string, to: &json)
        }
        json.append(UInt8(ascii: "]"))
        bindJSON()
    }

    mutating func json(numbers: [UInt8]) {
        json.removeAll(keepingCapacity: true)
        json.append(UInt8(ascii: "["))
        for (n, number) in numbers.enumerated() {
            if n > 0 { json.append(UInt8(ascii: ",")) }
            if number >= 100 { json.append(UInt8(ascii: "0") + number / 100) }
            if number >= 10 { json.append(UInt8(ascii: "0") + number / 10 % 10) }
            json.append(UInt8(ascii: "0") + number % 10)
        }
        json.append(UInt8(ascii: "]"))
        bindJSON()
    }

    private mutating func bindJSON() {
        let index = next()
        check(json.withUnsafeBufferPointer { Self.bindText(statement, index, $0) })
    }

    private static func bindText(_ statement: OpaquePointer, _ index: CInt, _ utf8: UnsafeBufferPointer<UInt8>) -> CInt {
        // An empty buffer may have no address, and a NULL pointer would bind SQL NULL rather than ''.
        guard let base = utf8.baseAddress, !utf8.isEmpty else {
            return sqlite3_bind_text(statement, index, "", 0, transient)
        }
        return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
            sqlite3_bind_text(statement, index, $0, CInt(utf8.count), transient)
        }
    }

    /// Quotes and escapes as JSON requires; the rest of the UTF-8 goes through unchanged.
    private static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                out += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
