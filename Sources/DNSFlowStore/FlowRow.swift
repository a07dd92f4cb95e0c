import DNSFlowCore
import Foundation
import GRDB

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

    static func arguments(_ r: FlowRecord, receivedAt: Int64) -> StatementArguments {
        [
            r.srcAddr, r.dstAddr, r.srcPort, r.dstPort, r.proto, r.etype, Int64(bitPattern: r.bytes),
            Int64(bitPattern: r.packets), r.timeFlowStartMs, r.timeFlowEndMs, jsonText(r.interfaces),
            jsonText(r.ifDirections), r.flags, r.netNs, r.nodeName, r.dnsId, r.dnsFlags, r.dnsFlagsResponseCode,
            r.dnsLatencyMs, r.dnsName, r.dnsQType, r.dnsErrno, receivedAt,
        ]
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

    // Hand-written because a JSONEncoder per row halves the ingest rate.
    private static func jsonText(_ numbers: [UInt8]) -> String {
        "[" + numbers.map(String.init).joined(separator: ",") + "]"
    }

    private static func jsonText(_ strings: [String]) -> String {
        "[" + strings.map(jsonString).joined(separator: ",") + "]"
    }

    private static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
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
            // Each index ends with the sort key so "newest first" within a filter needs no sort step.
            try db.create(index: "flows_dns_id", on: FlowRow.table, columns: ["dns_id", "time_flow_end_ms"])
            try db.create(index: "flows_dns_name", on: FlowRow.table, columns: ["dns_name", "time_flow_end_ms"])
            try db.create(index: "flows_time", on: FlowRow.table, columns: ["time_flow_end_ms"])
            try db.create(index: "flows_latency", on: FlowRow.table, columns: ["dns_latency_ms"])
        }
        return migrator
    }
}
