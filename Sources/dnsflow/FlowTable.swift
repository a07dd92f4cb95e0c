import DNSFlowCore
import Foundation

/// Renders records as aligned text tables for `dnsflow flows`: DNS lookups first, one line each (with
/// `stages`, its waterfall under it), then flows.
enum FlowTable {
    static let transactionHeaders = [
        "TIME", "CLIENT", "COMM", "NAME", "TYPE", "RCODE", "LATENCY_MS", "SERVER", "ANSWERS",
    ]

    static let flowHeaders = [
        "TIME", "SRC", "DST", "PROTO", "NAME", "QTYPE", "ID", "RCODE", "LATENCY_MS", "ERRNO", "NETNS", "INTERFACES",
        "NODE",
    ]

    /// The widest bar of a waterfall, the first stage's.
    static let barWidth = 40

    static func render(_ records: [FlowRecord], stages: Bool = false) -> String {
        let transactions = records.filter(\.isTransaction)
        let flows = records.filter { !$0.isTransaction }
        let tables = [
            transactions.isEmpty
                ? nil
                : table(
                    transactionHeaders, transactions.map(transactionCells),
                    below: stages ? transactions.map(waterfall) : nil),
            flows.isEmpty ? nil : table(flowHeaders, flows.map(cells)),
        ]
        return tables.compactMap { $0 }.joined(separator: "\n")
    }

    /// `rows` aligned under `headers`; `below[n]`, when given, is printed under row `n`.
    private static func table(_ headers: [String], _ rows: [[String]], below: [String]? = nil) -> String {
        let lines = aligned([headers] + rows)
        return lines[0] + rows.indices.map { lines[$0 + 1] + (below?[$0] ?? "") }.joined()
    }

    /// Each row as a line, its cells padded to their column's widest and two spaces apart.
    private static func aligned(_ rows: [[String]], indent: String = "") -> [String] {
        let widths = (rows.first ?? []).indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            indent
                + zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
    }

    static func transactionCells(_ r: FlowRecord) -> [String] {
        var server = endpoint(r.dstAddr, r.dstPort)
        if let xlat = r.xlatDstAddr { server += " → " + endpoint(xlat, r.xlatDstPort ?? r.dstPort) }
        let answers = r.dnsAnswers.map { $0.cnames + $0.addresses.map(\.text) } ?? []
        return [
            timestamp(r.timeFlowEndMs),
            client(r),
            r.requester?.comm ?? "-",
            r.dnsName ?? "-",
            r.dnsQType?.name ?? "-",
            outcome(r),
            milliseconds(r.dnsLatencyMs),
            server,
            answers.isEmpty ? "-" : answers.joined(separator: ","),
        ]
    }

    /// The client's name where the record has one (namespace, else container), else its address.
    static func client(_ r: FlowRecord) -> String {
        if let name = r.netNsName ?? r.requester?.containerId.map({ String($0.prefix(12)) }) { return name }
        return endpoint(r.srcAddr, r.srcPort)
    }

    /// Lookups, then flows, as CSV with a header line each (RFC 4180 quoting).
    static func csv(_ records: [FlowRecord]) -> String {
        let transactions = records.filter(\.isTransaction)
        let flows = records.filter { !$0.isTransaction }
        var parts: [[[String]]] = []
        if !transactions.isEmpty { parts.append([transactionHeaders] + transactions.map(transactionCells)) }
        if !flows.isEmpty { parts.append([flowHeaders] + flows.map(cells)) }
        return parts.map { rows in
            rows.map { $0.map(csvField).joined(separator: ",") + "\n" }.joined()
        }.joined(separator: "\n")
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// New lookups of `--follow`, one line each in the order given; the header only when asked.
    static func followLines(_ records: [FlowRecord], header: Bool, stages: Bool) -> String {
        let transactions = records.filter(\.isTransaction)
        let rows = records.map { $0.isTransaction ? transactionCells($0) : cells($0) }
        let lines = aligned((header ? [transactions.isEmpty ? flowHeaders : transactionHeaders] : []) + rows)
        let body = lines.dropFirst(header ? 1 : 0)
        return (header ? lines[0] : "")
            + zip(records, body).map { record, line in
                line + (stages && record.isTransaction ? waterfall(record) : "")
            }.joined()
    }

    /// The rcode; for a lookup without one, what `DnsErrno` says happened.
    static func outcome(_ r: FlowRecord) -> String {
        if let rcode = r.dnsFlagsResponseCode { return rcode.name }
        switch r.dnsErrno {
        case DNSErrno.timedOut: return "timeout"
        case DNSErrno.noQuery: return "no-query"
        default: return "-"
        }
    }

    /// One indented line per stage: its namespace, interface, server, latency, and a bar scaled to the
    /// first stage's latency (the largest one, when the first stage saw no answer).
    static func waterfall(_ r: FlowRecord) -> String {
        let scale = r.dnsStages.first?.latencyNs ?? r.dnsStages.compactMap(\.latencyNs).max()
        let rows = r.dnsStages.map { stage -> [String] in
            let bar = stage.latencyNs.flatMap { latency in
                scale.map { scale in
                    scale == 0 ? 0 : Int((Double(latency) / Double(scale) * Double(barWidth)).rounded())
                }
            }
            return [
                stage.netNsName ?? "\(stage.netNs)", stage.interface, endpoint(stage.serverAddr, stage.serverPort),
                stage.latencyNs.map { milliseconds(Double($0) / 1e6) + " ms" } ?? "-",
                String(repeating: "█", count: min(bar ?? 0, barWidth)),
            ]
        }
        return aligned(rows, indent: "    ").joined()
    }

    static func cells(_ r: FlowRecord) -> [String] {
        [
            timestamp(r.timeFlowEndMs),
            endpoint(r.srcAddr, r.srcPort),
            endpoint(r.dstAddr, r.dstPort),
            r.proto == 6 ? "TCP" : r.proto == 17 ? "UDP" : "\(r.proto)",
            r.dnsName ?? r.dstDnsName ?? "-",
            r.dnsQType?.name ?? "-",
            r.dnsId.map { "\($0)" } ?? "-",
            r.dnsFlagsResponseCode?.name ?? "-",
            milliseconds(r.dnsLatencyMs),
            r.dnsErrno.map { "\($0)" } ?? "-",
            r.netNsName ?? "\(r.netNs)",
            r.interfaces.isEmpty ? "-" : r.interfaces.joined(separator: ","),
            r.nodeName,
        ]
    }

    static func milliseconds(_ value: Double?) -> String {
        value.map { String(format: "%.3f", $0) } ?? "-"
    }

    static func endpoint(_ addr: IPAddress, _ port: UInt16) -> String {
        addr.isIPv4 ? "\(addr):\(port)" : "[\(addr)]:\(port)"
    }

    /// UTC with milliseconds: flows from several nodes line up whatever the local zone. The milliseconds
    /// are written from the integer: through a `Double` of seconds the formatter truncated .001 to .000.
    static func timestamp(_ ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let date = Date(timeIntervalSince1970: Double(seconds))
        return date.formatted(Date.ISO8601FormatStyle()).dropLast() + String(format: ".%03dZ", Int(ms - seconds * 1000))
    }
}
