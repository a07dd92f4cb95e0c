import DNSFlowCore
import Foundation
import GRDB

/// How a `FlowRecord` maps onto a partition's row: one column per field, addresses as their 4 or 16 bytes, codes and
/// the latency (in ns) as integers, the two arrays as JSON text, and the end time folded into the row id
/// (`FlowRowID`).
enum FlowRow {
    /// In binding order; `selection` reads them back in the same order.
    static let columns = [
        "id", "src_addr", "dst_addr", "src_port", "dst_port", "proto", "etype", "bytes", "packets",
        "time_flow_start_ms", "interfaces", "if_directions", "flags", "net_ns", "node_name", "dns_id", "dns_flags",
        "dns_rcode", "dns_latency_ns", "dns_name", "dns_qtype", "dns_errno",
    ]

    static let selection = columns.joined(separator: ", ")

    static func createTableSQL(_ table: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS \(table) (
          id INTEGER PRIMARY KEY, src_addr BLOB NOT NULL, dst_addr BLOB NOT NULL, src_port INTEGER NOT NULL,
          dst_port INTEGER NOT NULL, proto INTEGER NOT NULL, etype INTEGER NOT NULL, bytes INTEGER NOT NULL,
          packets INTEGER NOT NULL, time_flow_start_ms INTEGER NOT NULL, interfaces TEXT NOT NULL,
          if_directions TEXT NOT NULL, flags INTEGER NOT NULL, net_ns INTEGER NOT NULL, node_name TEXT NOT NULL,
          dns_id INTEGER, dns_flags INTEGER, dns_rcode INTEGER, dns_latency_ns INTEGER,
          -- NOCASE: DNS names compare case-insensitively.
          dns_name TEXT COLLATE NOCASE, dns_qtype INTEGER, dns_errno INTEGER)
        """
    }

    /// `rows` rows' worth of parameters, bound one row after the other.
    static func insertSQL(_ table: String, rows: Int = 1) -> String {
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        return "INSERT INTO \(table) (\(selection)) VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// Binds `r`'s values, `id` first, in the order of `columns`, to the next row's parameters.
    static func bind(_ r: FlowRecord, id: Int64, to row: inout StatementBinding) {
        row.integer(id)
        row.address(r.srcAddr)
        row.address(r.dstAddr)
        row.integer(r.srcPort)
        row.integer(r.dstPort)
        row.integer(r.proto)
        row.integer(r.etype)
        row.integer(Int64(bitPattern: r.bytes))
        row.integer(Int64(bitPattern: r.packets))
        row.integer(r.timeFlowStartMs)
        row.json(strings: r.interfaces)
        row.json(numbers: r.ifDirections)
        row.integer(r.flags)
        row.integer(r.netNs)
        row.text(r.nodeName)
        row.integer(r.dnsId)
        row.integer(r.dnsFlags)
        row.integer(r.dnsFlagsResponseCode?.rawValue)
        row.integer(r.dnsLatencyNs.map { Int64(clamping: $0) })
        row.text(r.dnsName)
        row.integer(r.dnsQType?.rawValue)
        row.integer(r.dnsErrno)
        assert(Int(row.column) % columns.count == 0, "one binding per column, in the order of `columns`")
    }

    /// Decodes a row selected with `selection`, by position: faster than by name on large pages.
    static func record(_ row: Row) -> FlowRecord {
        FlowRecord(
            srcAddr: address(row[1]), dstAddr: address(row[2]), srcPort: row[3], dstPort: row[4], proto: row[5], etype: row[6],
            bytes: UInt64(bitPattern: row[7]), packets: UInt64(bitPattern: row[8]), timeFlowStartMs: row[9],
            timeFlowEndMs: FlowRowID.timeMs(row[0]), interfaces: strings(fromJSON: row[10]),
            ifDirections: numbers(fromJSON: row[11]), flags: row[12], netNs: row[13], nodeName: row[14], dnsId: row[15],
            dnsFlags: row[16], dnsFlagsResponseCode: (row[17] as UInt8?).map(DNSResponseCode.init(rawValue:)),
            dnsLatencyNs: (row[18] as Int64?).map { UInt64(clamping: $0) }, dnsName: row[19],
            dnsQType: (row[20] as UInt16?).map(DNSQueryType.init(rawValue:)), dnsErrno: row[21]
        )
    }

    /// An address column as `StatementBinding.address` binds it.
    static func address(_ bytes: Data?) -> IPAddress {
        bytes.flatMap { IPAddress(bytes: $0) } ?? .v4(0)
    }

    /// `["eth0","veth1"]` as `StatementBinding` writes it. Names without escapes (all real ones) are split in place,
    /// as `JSONDecoder` took longer than the rest of a page; anything else goes to `JSONDecoder`.
    static func strings(fromJSON text: String) -> [String] {
        let utf8 = text.utf8
        guard utf8.first == UInt8(ascii: "["), utf8.last == UInt8(ascii: "]"), !utf8.contains(UInt8(ascii: "\\")) else {
            return decoded(text) ?? []
        }
        let inner = text.dropFirst().dropLast()
        guard !inner.isEmpty else { return [] }
        guard inner.count >= 2, inner.first == "\"", inner.last == "\"" else { return decoded(text) ?? [] }
        // Without backslashes a quote only delimits, and `","` only separates.
        return inner.dropFirst().dropLast().split(separator: "\",\"", omittingEmptySubsequences: false).map(String.init)
    }

    /// `[1,0]`; anything else goes to `JSONDecoder`.
    static func numbers(fromJSON text: String) -> [UInt8] {
        guard text.hasPrefix("["), text.hasSuffix("]") else { return decoded(text) ?? [] }
        let inner = text.dropFirst().dropLast()
        guard !inner.isEmpty else { return [] }
        var numbers: [UInt8] = []
        for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
            guard let number = UInt8(part) else { return decoded(text) ?? [] }
            numbers.append(number)
        }
        return numbers
    }

    private static func decoded<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
