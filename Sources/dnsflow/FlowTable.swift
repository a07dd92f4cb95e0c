import DNSFlowCore
import Foundation

/// Renders flow records as an aligned text table for `dnsflow flows`.
enum FlowTable {
    static let headers = [
        "TIME", "SRC", "DST", "PROTO", "NAME", "QTYPE", "ID", "RCODE", "LATENCY_MS", "ERRNO", "NETNS", "INTERFACES",
        "NODE",
    ]

    static func render(_ records: [FlowRecord]) -> String {
        let rows = [headers] + records.map(cells)
        let widths = headers.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    static func cells(_ r: FlowRecord) -> [String] {
        [
            timestamp(r.timeFlowEndMs),
            endpoint(r.srcAddr, r.srcPort),
            endpoint(r.dstAddr, r.dstPort),
            r.proto == 6 ? "TCP" : r.proto == 17 ? "UDP" : "\(r.proto)",
            r.dnsName ?? "-",
            r.dnsQType?.name ?? "-",
            r.dnsId.map { "\($0)" } ?? "-",
            r.dnsFlagsResponseCode?.name ?? "-",
            r.dnsLatencyMs.map { String(format: "%.3f", $0) } ?? "-",
            r.dnsErrno.map { "\($0)" } ?? "-",
            "\(r.netNs)",
            r.interfaces.isEmpty ? "-" : r.interfaces.joined(separator: ","),
            r.nodeName,
        ]
    }

    static func endpoint(_ addr: IPAddress, _ port: UInt16) -> String {
        addr.isIPv4 ? "\(addr):\(port)" : "[\(addr)]:\(port)"
    }

    /// UTC with milliseconds: flows from several nodes line up whatever the local zone.
    static func timestamp(_ ms: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
