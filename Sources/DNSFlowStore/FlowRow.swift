import DNSFlowCore
import Foundation
import GRDB

/// How a `FlowRecord` maps onto a partition's row: a column per `FlowField` (`FlowField.column`), and the end time
/// folded into the row id (`FlowRowID`).
enum FlowRow {
    /// The fields with a column of their own, in column order after the id.
    static let fields = FlowField.allCases.filter { $0.column != nil }

    /// In binding order; `selection` reads them back in the same order.
    static let columns = ["id"] + fields.map { $0.column!.name }

    static let selection = columns.joined(separator: ", ")

    static func createTableSQL(_ table: String) -> String {
        let definitions = ["id INTEGER PRIMARY KEY"] + fields.map { "\($0.column!.name) \($0.column!.type)" }
        return "CREATE TABLE IF NOT EXISTS \(table) (\(definitions.joined(separator: ", ")))"
    }

    /// `rows` rows' worth of parameters, bound one row after the other.
    static func insertSQL(_ table: String, rows: Int = 1) -> String {
        let row = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        return "INSERT INTO \(table) (\(selection)) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    /// Binds `r`'s values, `id` first, in the order of `columns`, to the next row's parameters.
    static func bind(_ r: FlowRecord, id: Int64, to row: inout StatementBinding) {
        row.integer(id)
        for field in fields { field.bind(r, to: &row) }
        assert(Int(row.column) % columns.count == 0, "one binding per column, in the order of `columns`")
    }

    /// Decodes a row selected with `selection`, by position: faster than by name on large pages.
    static func record(_ row: Row) -> FlowRecord {
        var record = FlowRecord.empty
        record.timeFlowEndMs = FlowRowID.timeMs(row[0])
        for (offset, field) in fields.enumerated() { field.read(row, at: offset + 1, into: &record) }
        return record
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

    /// `FlowRecordJSON.encode(stages:)`'s text, as the binding writes it.
    static func stages(fromJSON text: String) -> [DNSStage] {
        var text = text
        return text.withUTF8 { (try? FlowRecordJSON.decodeStages(UnsafeRawBufferPointer($0))) ?? [] }
    }

    /// `FlowRecordJSON.encode(addresses:)`'s text, as the binding writes it.
    static func addresses(fromJSON text: String) -> [IPAddress] {
        var text = text
        return text.withUTF8 { (try? FlowRecordJSON.decodeAddresses(UnsafeRawBufferPointer($0))) ?? [] }
    }

    /// `FlowRecordJSON.encode(tries:)`'s text, as the binding writes it.
    static func tries(fromJSON text: String) -> [DNSTry] {
        var text = text
        return text.withUTF8 { (try? FlowRecordJSON.decodeTries(UnsafeRawBufferPointer($0))) ?? [] }
    }

    /// `FlowRecordJSON.encode(linked:into:)`'s text, as the binding writes it.
    static func linked(fromJSON text: String, as field: FlowField) -> [DNSLinkedLookup] {
        var text = text
        return text.withUTF8 { (try? FlowRecordJSON.decodeLinked(UnsafeRawBufferPointer($0), as: field)) ?? [] }
    }

    private static func decoded<T: Decodable>(_ text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

/// Each field's column: addresses as their 4 or 16 bytes, the record type, codes and the latency (in ns) as
/// integers, the arrays as JSON text. The end time has none: it leads the row id. The answers and the requester
/// span several columns, all NULL when the record has none; reading in column order, their first makes them.
extension FlowField {
    var column: (name: String, type: String)? {
        switch self {
        case .recordType: ("record_type", "INTEGER NOT NULL")
        case .srcAddr: ("src_addr", "BLOB NOT NULL")
        case .dstAddr: ("dst_addr", "BLOB NOT NULL")
        case .srcPort: ("src_port", "INTEGER NOT NULL")
        case .dstPort: ("dst_port", "INTEGER NOT NULL")
        case .xlatDstAddr: ("xlat_dst_addr", "BLOB")
        case .xlatDstPort: ("xlat_dst_port", "INTEGER")
        case .proto: ("proto", "INTEGER NOT NULL")
        case .etype: ("etype", "INTEGER NOT NULL")
        case .bytes: ("bytes", "INTEGER NOT NULL")
        case .packets: ("packets", "INTEGER NOT NULL")
        case .timeFlowStartMs: ("time_flow_start_ms", "INTEGER NOT NULL")
        case .timeFlowEndMs: nil
        case .interfaces: ("interfaces", "TEXT NOT NULL")
        case .ifDirections: ("if_directions", "TEXT NOT NULL")
        case .flags: ("flags", "INTEGER NOT NULL")
        case .netNs: ("net_ns", "INTEGER NOT NULL")
        case .netNsName: ("net_ns_name", "TEXT")
        case .nodeName: ("node_name", "TEXT NOT NULL")
        case .dnsId: ("dns_id", "INTEGER")
        case .dnsFlags: ("dns_flags", "INTEGER")
        case .dnsFlagsResponseCode: ("dns_rcode", "INTEGER")
        case .dnsLatencyMs: ("dns_latency_ns", "INTEGER")
        // NOCASE: DNS names compare case-insensitively.
        case .dnsName: ("dns_name", "TEXT COLLATE NOCASE")
        case .dnsQType: ("dns_qtype", "INTEGER")
        case .dnsErrno: ("dns_errno", "INTEGER")
        // The API's own `DnsStages` text: one column whatever the count, written by the record's JSON writer, and
        // readable in SQL with json_each; a table of stages would cost a row and an index entry per stage.
        case .dnsStages: ("dns_stages", "TEXT")
        case .dnsRetransmits: ("dns_retransmits", "INTEGER")
        case .dnsAnswers: ("dns_answers", "TEXT")
        case .dnsCnames: ("dns_cnames", "TEXT")
        case .dnsTtl: ("dns_ttl", "INTEGER")
        case .pid: ("pid", "INTEGER")
        case .comm: ("comm", "TEXT")
        case .cgroupId: ("cgroup_id", "INTEGER")
        case .containerId: ("container_id", "TEXT")
        case .podUid: ("pod_uid", "TEXT")
        case .dstDnsName: ("dst_dns_name", "TEXT COLLATE NOCASE")
        case .srcK8SName: ("src_k8s_name", "TEXT")
        case .srcK8SNamespace: ("src_k8s_namespace", "TEXT")
        case .srcK8SType: ("src_k8s_type", "INTEGER")
        case .srcK8SOwnerName: ("src_k8s_owner_name", "TEXT")
        case .srcK8SOwnerType: ("src_k8s_owner_type", "TEXT")
        case .srcK8SHostName: ("src_k8s_host_name", "TEXT")
        case .dstK8SName: ("dst_k8s_name", "TEXT")
        case .dstK8SNamespace: ("dst_k8s_namespace", "TEXT")
        case .dstK8SType: ("dst_k8s_type", "INTEGER")
        case .dstK8SOwnerName: ("dst_k8s_owner_name", "TEXT")
        case .dstK8SOwnerType: ("dst_k8s_owner_type", "TEXT")
        case .dstK8SHostName: ("dst_k8s_host_name", "TEXT")
        case .xlatDstK8SName: ("xlat_dst_k8s_name", "TEXT")
        case .xlatDstK8SNamespace: ("xlat_dst_k8s_namespace", "TEXT")
        case .dnsBaseName: ("dns_base_name", "TEXT COLLATE NOCASE")
        case .dnsTries: ("dns_tries", "TEXT")
        case .dnsWastedQueries: ("dns_wasted_queries", "INTEGER")
        case .dnsWastedMs: ("dns_wasted_ns", "INTEGER")
        case .dnsSearchFix: ("dns_search_fix", "INTEGER")
        case .dnsTimeouts: ("dns_timeouts", "INTEGER")
        case .dnsRetryOf: ("dns_retry_of", "INTEGER")
        case .dnsRetryGapMs: ("dns_retry_gap_ns", "INTEGER")
        case .dnsAlertReason: ("dns_alert_reason", "TEXT")
        case .dnsDropReason: ("dns_drop_reason", "TEXT")
        case .dnsCacheHit: ("dns_cache_hit", "INTEGER")
        // The API's own JSON text, as `dns_stages`.
        case .dnsUpstream: ("dns_upstream", "TEXT")
        case .dnsServes: ("dns_serves", "TEXT")
        case .dnsServerSource: ("dns_server_source", "INTEGER")
        }
    }

    func bind(_ r: FlowRecord, to row: inout StatementBinding) {
        switch self {
        case .recordType: row.integer(r.recordType.rawValue)
        case .srcAddr: row.address(r.srcAddr)
        case .dstAddr: row.address(r.dstAddr)
        case .srcPort: row.integer(r.srcPort)
        case .dstPort: row.integer(r.dstPort)
        case .xlatDstAddr: row.address(r.xlatDstAddr)
        case .xlatDstPort: row.integer(r.xlatDstPort)
        case .proto: row.integer(r.proto)
        case .etype: row.integer(r.etype)
        case .bytes: row.integer(Int64(bitPattern: r.bytes))
        case .packets: row.integer(Int64(bitPattern: r.packets))
        case .timeFlowStartMs: row.integer(r.timeFlowStartMs)
        case .timeFlowEndMs: break
        case .interfaces: row.json(strings: r.interfaces)
        case .ifDirections: row.json(numbers: r.ifDirections)
        case .flags: row.integer(r.flags)
        case .netNs: row.integer(r.netNs)
        case .netNsName: row.text(r.netNsName)
        case .nodeName: row.text(r.nodeName)
        case .dnsId: row.integer(r.dnsId)
        case .dnsFlags: row.integer(r.dnsFlags)
        case .dnsFlagsResponseCode: row.integer(r.dnsFlagsResponseCode?.rawValue)
        case .dnsLatencyMs: row.integer(r.dnsLatencyNs.map { Int64(clamping: $0) })
        case .dnsName: row.text(r.dnsName)
        case .dnsQType: row.integer(r.dnsQType?.rawValue)
        case .dnsErrno: row.integer(r.dnsErrno)
        case .dnsStages: row.json(stages: r.dnsStages)
        case .dnsRetransmits: row.integer(r.dnsRetransmits)
        case .dnsAnswers: row.json(addresses: r.dnsAnswers?.addresses)
        case .dnsCnames: row.json(strings: r.dnsAnswers?.cnames)
        case .dnsTtl: row.integer(r.dnsAnswers?.ttl)
        case .pid: row.integer(r.requester?.pid)
        case .comm: row.text(r.requester?.comm)
        case .cgroupId: row.integer(r.requester.map { Int64(bitPattern: $0.cgroupId) })
        case .containerId: row.text(r.requester?.containerId)
        case .podUid: row.text(r.requester?.podUid)
        case .dstDnsName: row.text(r.dstDnsName)
        case .srcK8SName: row.text(r.srcK8S?.name)
        case .srcK8SNamespace: row.text(r.srcK8S?.namespace)
        case .srcK8SType: row.integer(r.srcK8S?.kind.rawValue)
        case .srcK8SOwnerName: row.text(r.srcK8S?.ownerName)
        case .srcK8SOwnerType: row.text(r.srcK8S?.ownerType)
        case .srcK8SHostName: row.text(r.srcK8S?.hostName)
        case .dstK8SName: row.text(r.dstK8S?.name)
        case .dstK8SNamespace: row.text(r.dstK8S?.namespace)
        case .dstK8SType: row.integer(r.dstK8S?.kind.rawValue)
        case .dstK8SOwnerName: row.text(r.dstK8S?.ownerName)
        case .dstK8SOwnerType: row.text(r.dstK8S?.ownerType)
        case .dstK8SHostName: row.text(r.dstK8S?.hostName)
        case .xlatDstK8SName: row.text(r.xlatDstK8S?.name)
        case .xlatDstK8SNamespace: row.text(r.xlatDstK8S?.namespace)
        case .dnsBaseName: row.text(r.dnsBaseName)
        case .dnsTries: row.json(tries: r.dnsTries)
        case .dnsWastedQueries: row.integer(r.dnsWastedQueries)
        case .dnsWastedMs: row.integer(r.dnsWastedNs.map { Int64(clamping: $0) })
        case .dnsSearchFix: row.integer(r.dnsSearchFix?.rawValue)
        case .dnsTimeouts: row.integer(r.dnsTimeouts)
        case .dnsRetryOf: row.integer(r.dnsRetryOf)
        case .dnsRetryGapMs: row.integer(r.dnsRetryGapNs.map { Int64(clamping: $0) })
        case .dnsAlertReason: row.text(r.dnsAlertReason)
        case .dnsDropReason: row.text(r.dnsDropReason)
        case .dnsCacheHit: row.integer(r.dnsCacheHit.map { $0 ? 1 : 0 })
        case .dnsUpstream: row.json(linked: r.dnsUpstream)
        case .dnsServes: row.json(linked: r.dnsServes)
        case .dnsServerSource: row.integer(r.dnsServerSource?.rawValue)
        }
    }

    func read(_ row: Row, at i: Int, into r: inout FlowRecord) {
        switch self {
        case .recordType: r.recordType = RecordType(rawValue: row[i]) ?? .flow
        case .srcAddr: r.srcAddr = FlowRow.address(row[i])
        case .dstAddr: r.dstAddr = FlowRow.address(row[i])
        case .srcPort: r.srcPort = row[i]
        case .dstPort: r.dstPort = row[i]
        case .xlatDstAddr: r.xlatDstAddr = (row[i] as Data?).flatMap { IPAddress(bytes: $0) }
        case .xlatDstPort: r.xlatDstPort = row[i]
        case .proto: r.proto = row[i]
        case .etype: r.etype = row[i]
        case .bytes: r.bytes = UInt64(bitPattern: row[i])
        case .packets: r.packets = UInt64(bitPattern: row[i])
        case .timeFlowStartMs: r.timeFlowStartMs = row[i]
        case .timeFlowEndMs: break
        case .interfaces: r.interfaces = FlowRow.strings(fromJSON: row[i])
        case .ifDirections: r.ifDirections = FlowRow.numbers(fromJSON: row[i])
        case .flags: r.flags = row[i]
        case .netNs: r.netNs = row[i]
        case .netNsName: r.netNsName = row[i]
        case .nodeName: r.nodeName = row[i]
        case .dnsId: r.dnsId = row[i]
        case .dnsFlags: r.dnsFlags = row[i]
        case .dnsFlagsResponseCode: r.dnsFlagsResponseCode = (row[i] as UInt8?).map(DNSResponseCode.init(rawValue:))
        case .dnsLatencyMs: r.dnsLatencyNs = (row[i] as Int64?).map { UInt64(clamping: $0) }
        case .dnsName: r.dnsName = row[i]
        case .dnsQType: r.dnsQType = (row[i] as UInt16?).map(DNSQueryType.init(rawValue:))
        case .dnsErrno: r.dnsErrno = row[i]
        case .dnsStages: r.dnsStages = (row[i] as String?).map(FlowRow.stages(fromJSON:)) ?? []
        case .dnsRetransmits: r.dnsRetransmits = row[i]
        case .dnsAnswers:
            r.dnsAnswers = (row[i] as String?).map { DNSAnswers(addresses: FlowRow.addresses(fromJSON: $0)) }
        case .dnsCnames: if let cnames: String = row[i] { r.dnsAnswers?.cnames = FlowRow.strings(fromJSON: cnames) }
        case .dnsTtl: r.dnsAnswers?.ttl = row[i]
        case .pid: r.requester = (row[i] as UInt32?).map { Requester(pid: $0, comm: "", cgroupId: 0) }
        case .comm: if let comm: String = row[i] { r.requester?.comm = comm }
        case .cgroupId: if let id: Int64 = row[i] { r.requester?.cgroupId = UInt64(bitPattern: id) }
        case .containerId: r.requester?.containerId = row[i]
        case .podUid: r.requester?.podUid = row[i]
        case .dstDnsName: r.dstDnsName = row[i]
        // The name column makes each object; the others fill it.
        case .srcK8SName: r.srcK8S = (row[i] as String?).map { KubernetesObject(kind: .pod, name: $0, namespace: "") }
        case .srcK8SNamespace: if let namespace: String = row[i] { r.srcK8S?.namespace = namespace }
        case .srcK8SType:
            if let kind = (row[i] as UInt8?).flatMap(KubernetesObject.Kind.init(rawValue:)) { r.srcK8S?.kind = kind }
        case .srcK8SOwnerName: r.srcK8S?.ownerName = row[i]
        case .srcK8SOwnerType: r.srcK8S?.ownerType = row[i]
        case .srcK8SHostName: r.srcK8S?.hostName = row[i]
        case .dstK8SName: r.dstK8S = (row[i] as String?).map { KubernetesObject(kind: .pod, name: $0, namespace: "") }
        case .dstK8SNamespace: if let namespace: String = row[i] { r.dstK8S?.namespace = namespace }
        case .dstK8SType:
            if let kind = (row[i] as UInt8?).flatMap(KubernetesObject.Kind.init(rawValue:)) { r.dstK8S?.kind = kind }
        case .dstK8SOwnerName: r.dstK8S?.ownerName = row[i]
        case .dstK8SOwnerType: r.dstK8S?.ownerType = row[i]
        case .dstK8SHostName: r.dstK8S?.hostName = row[i]
        case .xlatDstK8SName:
            r.xlatDstK8S = (row[i] as String?).map { KubernetesObject(kind: .pod, name: $0, namespace: "") }
        case .xlatDstK8SNamespace: if let namespace: String = row[i] { r.xlatDstK8S?.namespace = namespace }
        case .dnsBaseName: r.dnsBaseName = row[i]
        case .dnsTries: r.dnsTries = (row[i] as String?).map(FlowRow.tries(fromJSON:)) ?? []
        case .dnsWastedQueries: r.dnsWastedQueries = row[i]
        case .dnsWastedMs: r.dnsWastedNs = (row[i] as Int64?).map { UInt64(clamping: $0) }
        case .dnsSearchFix: r.dnsSearchFix = (row[i] as UInt8?).flatMap(SearchPathFix.init(rawValue:))
        case .dnsTimeouts: r.dnsTimeouts = row[i]
        case .dnsRetryOf: r.dnsRetryOf = row[i]
        case .dnsRetryGapMs: r.dnsRetryGapNs = (row[i] as Int64?).map { UInt64(clamping: $0) }
        case .dnsAlertReason: r.dnsAlertReason = row[i]
        case .dnsDropReason: r.dnsDropReason = row[i]
        case .dnsCacheHit: r.dnsCacheHit = (row[i] as Int?).map { $0 != 0 }
        case .dnsUpstream: r.dnsUpstream = (row[i] as String?).map { FlowRow.linked(fromJSON: $0, as: self) } ?? []
        case .dnsServes: r.dnsServes = (row[i] as String?).map { FlowRow.linked(fromJSON: $0, as: self) } ?? []
        case .dnsServerSource: r.dnsServerSource = (row[i] as UInt8?).flatMap(DNSServerSource.init(rawValue:))
        }
    }
}
