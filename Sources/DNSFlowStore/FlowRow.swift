import DNSFlowCore
import Foundation
import GRDB
import GRDBSQLite

/// How a `FlowRecord` maps onto the `flows` table: one column per field, the two arrays as JSON text.
struct FlowRow {
    static let table = "flows"

    static let columns = [
        "src_addr", "dst_addr", "src_port", "dst_port", "proto", "etype", "bytes", "packets",
        "time_flow_start_ms", "time_flow_end_ms", "interfaces", "if_directions", "flags", "net_ns", "node_name",
        "dns_id", "dns_flags", "dns_rcode", "dns_latency_ms", "dns_name", "dns_qtype", "dns_errno", "received_at",
    ]

    static let selection = columns.dropLast().joined(separator: ", ")

    static let insertSQL =
        "INSERT INTO flows (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"

    /// Inserts `records` with `statement`, prepared from `insertSQL`, binding through SQLite's C API.
    ///
    /// GRDB's `StatementArguments` box and validate all 23 values of every row, which costs more than SQLite's
    /// own insert; binding each field in place keeps a row free of allocations of its own.
    static func insert(_ records: some Sequence<FlowRecord>, receivedAt: Int64, with statement: Statement) throws {
        let handle = statement.sqliteStatement
        var row = RowBinding(handle)
        defer {
            // Leave the cached statement as GRDB expects it: reset, holding no values.
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        for r in records {
            row.start()
            row.text(r.srcAddr)
            row.text(r.dstAddr)
            row.integer(r.srcPort)
            row.integer(r.dstPort)
            row.integer(r.proto)
            row.integer(r.etype)
            row.integer(Int64(bitPattern: r.bytes))
            row.integer(Int64(bitPattern: r.packets))
            row.integer(r.timeFlowStartMs)
            row.integer(r.timeFlowEndMs)
            row.json(strings: r.interfaces)
            row.json(numbers: r.ifDirections)
            row.integer(r.flags)
            row.integer(r.netNs)
            row.text(r.nodeName)
            row.integer(r.dnsId)
            row.integer(r.dnsFlags)
            row.text(r.dnsFlagsResponseCode)
            row.double(r.dnsLatencyMs)
            row.text(r.dnsName)
            row.text(r.dnsQType)
            row.integer(r.dnsErrno)
            row.integer(receivedAt)
            assert(Int(row.column) == columns.count, "one binding per column, in the order of `columns`")
            let code = row.failure ?? sqlite3_step(handle)
            guard code == SQLITE_DONE else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: String(cString: sqlite3_errmsg(sqlite3_db_handle(handle))), sql: insertSQL
                )
            }
        }
    }

    /// Decodes a row selected with `selection`, by position: faster than by name on large pages.
    static func record(_ row: Row) -> FlowRecord {
        FlowRecord(
            srcAddr: row[0], dstAddr: row[1], srcPort: row[2], dstPort: row[3], proto: row[4], etype: row[5],
            bytes: UInt64(bitPattern: row[6]), packets: UInt64(bitPattern: row[7]), timeFlowStartMs: row[8],
            timeFlowEndMs: row[9], interfaces: fromJSON(row[10]) ?? [], ifDirections: fromJSON(row[11]) ?? [],
            flags: row[12], netNs: row[13], nodeName: row[14], dnsId: row[15], dnsFlags: row[16],
            dnsFlagsResponseCode: row[17], dnsLatencyMs: row[18], dnsName: row[19], dnsQType: row[20],
            dnsErrno: row[21]
        )
    }

    private static func fromJSON<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

enum FlowSchema {
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 flows") { db in
            try db.create(table: FlowRow.table) { t in
                // A plain rowid alias, not AUTOINCREMENT: no sqlite_sequence update on every insert.
                t.primaryKey("id", .integer)
                t.column("src_addr", .text).notNull()
                t.column("dst_addr", .text).notNull()
                t.column("src_port", .integer).notNull()
                t.column("dst_port", .integer).notNull()
                t.column("proto", .integer).notNull()
                t.column("etype", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("packets", .integer).notNull()
                t.column("time_flow_start_ms", .integer).notNull()
                t.column("time_flow_end_ms", .integer).notNull()
                t.column("interfaces", .text).notNull()
                t.column("if_directions", .text).notNull()
                t.column("flags", .integer).notNull()
                t.column("net_ns", .integer).notNull()
                t.column("node_name", .text).notNull()
                t.column("dns_id", .integer)
                t.column("dns_flags", .integer)
                t.column("dns_rcode", .text)
                t.column("dns_latency_ms", .double)
                // NOCASE: DNS names compare case-insensitively, and LIKE can then use the index for prefixes.
                t.column("dns_name", .text).collate(.nocase)
                t.column("dns_qtype", .text)
                t.column("dns_errno", .integer)
                t.column("received_at", .integer).notNull()
            }
            // Each index ends with the sort key so "newest first" within a filter needs no sort step. The DNS
            // ones are partial: most flows are not DNS, and a row outside an index costs nothing to insert.
            // `dns_id = ?` and `dns_name = ?`/`LIKE ?` imply IS NOT NULL, so SQLite still picks them.
            try db.create(
                index: "flows_dns_id", on: FlowRow.table, columns: ["dns_id", "time_flow_end_ms"],
                condition: Column("dns_id") != nil
            )
            try db.create(
                index: "flows_dns_name", on: FlowRow.table, columns: ["dns_name", "time_flow_end_ms"],
                condition: Column("dns_name") != nil
            )
            // Serves the time window of every query, retention and newest-first paging. Latency has no index of
            // its own: latency filters, the top list and the histogram all read within a time window.
            try db.create(index: "flows_time", on: FlowRow.table, columns: ["time_flow_end_ms"])
        }
        return migrator
    }
}

/// Binds one row's values to consecutive parameters of a prepared statement.
private struct RowBinding {
    // SQLITE_TRANSIENT: SQLite copies the value, so Swift's buffers need only live through the bind call.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    private static let hex = Array("0123456789abcdef".utf8)

    private let statement: OpaquePointer
    private(set) var column: CInt = 0
    /// The first bind error of the row; binds only fail on misuse or an out-of-memory, never on a value.
    private(set) var failure: CInt?
    /// Reused for the JSON columns, so encoding them allocates nothing once it has grown.
    private var json: [UInt8] = []

    init(_ statement: OpaquePointer) { self.statement = statement }

    mutating func start() {
        sqlite3_reset(statement)
        column = 0
        failure = nil
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
