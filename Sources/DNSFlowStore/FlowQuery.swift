import DNSFlowCore
import Foundation
import GRDB

/// A filter over stored flows; every set field narrows the result (AND).
public struct FlowQuery: Sendable, Hashable {
    public static let defaultLimit = 100
    public static let maxLimit = 10_000

    public var recordType: RecordType?
    public var dnsId: UInt16?
    /// An exact name, or a glob where `*` matches any run of characters (`*.example.test`).
    public var dnsName: String?
    public var rcode: DNSResponseCode?
    public var minLatencyMs: Double?
    public var maxLatencyMs: Double?
    public var errno: UInt8?
    public var srcAddr: IPAddress?
    public var dstAddr: IPAddress?
    /// Matches either the source or the destination port.
    public var port: UInt16?
    public var node: String?
    /// The client: an address (`SrcAddr`), or a name (`NetNsName` or `ContainerId`).
    public var client: String?
    /// The process that asked (`Comm`).
    public var comm: String?
    /// The server: an address, as the client addressed it or after translation.
    public var server: IPAddress?
    /// Only lookups that failed: a response code other than NoError, or an errno (timeout, no query).
    public var errorsOnly = false
    /// Where the server side came from (`DnsServerSource`).
    public var serverSource: DNSServerSource?
    /// Epoch milliseconds, inclusive, on `timeFlowEndMs`.
    public var since: Int64?
    /// Epoch milliseconds, exclusive, on `timeFlowEndMs`.
    public var until: Int64?
    /// Clamped to 1...`maxLimit`.
    public var limit: Int {
        didSet { limit = min(max(limit, 1), Self.maxLimit) }
    }
    /// Rows of the ordered result skipped before the page.
    public var offset = 0
    public var order = Order.time

    public enum Order: String, Sendable, CaseIterable {
        /// Newest end time first.
        case time
        /// Largest `DnsLatencyMs` first; rows without a latency last.
        case latency
    }

    public init(
        recordType: RecordType? = nil, dnsId: UInt16? = nil, dnsName: String? = nil, rcode: DNSResponseCode? = nil,
        minLatencyMs: Double? = nil,
        maxLatencyMs: Double? = nil, errno: UInt8? = nil, srcAddr: IPAddress? = nil, dstAddr: IPAddress? = nil,
        port: UInt16? = nil, node: String? = nil, since: Int64? = nil, until: Int64? = nil,
        limit: Int = FlowQuery.defaultLimit
    ) {
        self.recordType = recordType
        self.dnsId = dnsId
        self.dnsName = dnsName
        self.rcode = rcode
        self.minLatencyMs = minLatencyMs
        self.maxLatencyMs = maxLatencyMs
        self.errno = errno
        self.srcAddr = srcAddr
        self.dstAddr = dstAddr
        self.port = port
        self.node = node
        self.since = since
        self.until = until
        self.limit = min(max(limit, 1), Self.maxLimit)
    }

    /// True when the only filters are `since` and `until`: a partition inside the window then matches whole.
    var isTimeWindowOnly: Bool {
        filter == FlowQuery(since: since, until: until).filter
    }

    /// The query without its paging and order: what decides which rows match.
    var filter: FlowQuery {
        var filter = self
        filter.limit = Self.defaultLimit
        filter.offset = 0
        filter.order = .time
        return filter
    }

    /// For a query on the DNS id alone (and a time window), its row ids in `partition`, from the posting lists
    /// without reading a row; nil for other queries.
    func dnsIdRowIDs(in partition: FlowPartition) -> (sql: String, arguments: StatementArguments)? {
        guard let dnsId, filter == FlowQuery(dnsId: dnsId, since: since, until: until).filter else { return nil }
        var bounds: [String] = []
        var arguments: StatementArguments = [Int64(dnsId)]
        if let since {
            bounds.append("j.value >= ?")
            arguments += [FlowRowID.lowerBound(since)]
        }
        if let until {
            bounds.append("j.value < ?")
            arguments += [FlowRowID.lowerBound(until)]
        }
        let sql = FlowPostings.dnsId.rowIDsSQL(partition)
        return (bounds.isEmpty ? sql : sql + " WHERE " + bounds.joined(separator: " AND "), arguments)
    }

    /// The WHERE clause over `partition`'s table (empty when unfiltered) and its arguments, values always bound,
    /// never spliced; `condition`, a fixed SQL term, narrows it further.
    func whereClause(
        in partition: FlowPartition, and condition: String? = nil
    )
        -> (sql: String, arguments: StatementArguments)
    {
        var terms = condition.map { [$0] } ?? []
        var args: [(any DatabaseValueConvertible)?] = []
        func add(_ term: String, _ values: any DatabaseValueConvertible...) {
            terms.append(term)
            args.append(contentsOf: values)
        }
        // The posting lists give the rows of an id or a name; SQLite then reads only those.
        if let dnsId { add("id IN (\(FlowPostings.dnsId.rowIDsSQL(partition)))", Int64(dnsId)) }
        if let dnsName {
            if dnsName.contains("*") {
                add("dns_name LIKE ? ESCAPE '\\'", Self.likePattern(glob: dnsName))
            } else {
                // The lists are keyed by a hash; the name itself rules out collisions.
                add(
                    "dns_name = ? AND id IN (\(FlowPostings.dnsName.rowIDsSQL(partition)))", dnsName,
                    FlowPostings.nameHash(dnsName)
                )
            }
        }
        if let recordType { add("record_type = ?", Int64(recordType.rawValue)) }
        if let rcode { add("dns_rcode = ?", Int64(rcode.rawValue)) }
        if let minLatencyMs { add("dns_latency_ns >= ?", Self.nanoseconds(minLatencyMs)) }
        if let maxLatencyMs { add("dns_latency_ns <= ?", Self.nanoseconds(maxLatencyMs)) }
        if let errno { add("dns_errno = ?", Int64(errno)) }
        if let srcAddr { add("src_addr = ?", Data(srcAddr.bytes)) }
        if let dstAddr { add("dst_addr = ?", Data(dstAddr.bytes)) }
        if let port { add("(src_port = ? OR dst_port = ?)", Int64(port), Int64(port)) }
        if let node { add("node_name = ?", node) }
        if let client {
            if let address = IPAddress(client) {
                add("src_addr = ?", Data(address.bytes))
            } else {
                add("(net_ns_name = ? OR container_id = ?)", client, client)
            }
        }
        if let comm { add("comm = ?", comm) }
        if let server {
            add("(dst_addr = ? OR xlat_dst_addr = ?)", Data(server.bytes), Data(server.bytes))
        }
        if errorsOnly { add(Self.failed) }
        if let serverSource { add("dns_server_source = ?", Int64(serverSource.rawValue)) }
        // On the row id, which leads with the end time: a range of the table's own B-tree.
        if let since { add("id >= ?", FlowRowID.lowerBound(since)) }
        if let until { add("id < ?", FlowRowID.lowerBound(until)) }
        return (terms.isEmpty ? "" : "WHERE " + terms.joined(separator: " AND "), StatementArguments(args))
    }

    /// A lookup that failed: an error response code, or an errno (110 timed out, 2 no query).
    static let failed = "(dns_rcode != 0 OR dns_errno != 0)"

    /// The stored latency unit; a bound past the largest latency stays past it.
    static func nanoseconds(_ milliseconds: Double) -> Int64 {
        milliseconds * 1e6 < Double(Int64.max) ? Int64((milliseconds * 1e6).rounded()) : .max
    }

    /// `*` becomes `%`; LIKE's own wildcards and the escape character are taken literally.
    static func likePattern(glob: String) -> String {
        var out = ""
        for ch in glob {
            switch ch {
            case "*": out.append("%")
            case "%", "_", "\\": out.append("\\"); out.append(ch)
            default: out.append(ch)
            }
        }
        return out
    }
}

/// One page of a query, newest first, with the number of rows matching the filter.
public struct FlowPage: Sendable, Hashable {
    public var flows: [FlowRecord]
    public var total: Int

    public init(flows: [FlowRecord], total: Int) {
        self.flows = flows
        self.total = total
    }
}
