import DNSFlowCore

/// How a `FlowRecord` maps onto a ClickHouse row: a column per `FlowField`, named as in SQLite, in RowBinary.
enum ClickHouseRow {
    static let fields = FlowField.allCases

    /// In the order rows are written and read.
    static let columns = fields.map(\.clickHouseColumn.name)

    static let selection = columns.joined(separator: ", ")

    static func encode(_ r: FlowRecord, into row: inout RowBinaryWriter) {
        for field in fields { field.encode(r, into: &row) }
    }

    static func decode(_ reader: inout RowBinaryReader) throws -> FlowRecord {
        var record = FlowRecord.empty
        for field in fields { try field.decode(&reader, into: &record) }
        return record
    }

    /// Addresses are stored as their 4 or 16 bytes; anything else reads back as 0.0.0.0.
    static func address(_ bytes: ArraySlice<UInt8>) -> IPAddress {
        IPAddress(bytes: bytes) ?? .v4(0)
    }

    static func kind(_ row: inout RowBinaryReader) throws(RowBinaryReader.Truncated) -> KubernetesObject.Kind? {
        try row.optionalInteger(UInt8.self).flatMap(KubernetesObject.Kind.init(rawValue:))
    }

    /// The stored form of "no DNS id": the id leads the sort key, and key columns cannot be Nullable.
    static let noDNSId: Int32 = -1
}

/// Each field's column. Types exist in ClickHouse 18.16 and in current servers alike: no IPv6 or DateTime64, so
/// addresses are their bytes and times epoch milliseconds.
extension FlowField {
    var clickHouseColumn: (name: String, type: String) {
        let type =
            switch self {
            case .recordType: "UInt8"
            case .srcAddr, .dstAddr: "String"
            case .srcPort, .dstPort: "UInt16"
            case .xlatDstAddr: "Nullable(String)"
            case .xlatDstPort: "Nullable(UInt16)"
            case .proto: "UInt8"
            case .etype: "UInt16"
            case .bytes, .packets: "UInt64"
            case .timeFlowStartMs, .timeFlowEndMs: "Int64"
            case .interfaces: "Array(String)"
            case .ifDirections: "Array(UInt8)"
            case .flags: "UInt16"
            case .netNs: "UInt32"
            case .netNsName: "Nullable(String)"
            case .nodeName: "String"
            case .dnsId: "Int32"
            case .dnsFlags: "Nullable(UInt16)"
            case .dnsFlagsResponseCode: "Nullable(UInt8)"
            case .dnsLatencyMs: "Nullable(UInt64)"
            case .dnsName: "Nullable(String)"
            case .dnsQType: "Nullable(UInt16)"
            case .dnsErrno: "Nullable(UInt8)"
            // The API's `DnsStages` and `DnsAnswers` JSON text, as in SQLite: a Nullable array is not a type here.
            case .dnsStages: "Nullable(String)"
            case .dnsRetransmits: "Nullable(UInt16)"
            case .dnsAnswers: "Nullable(String)"
            case .dnsCnames: "Array(String)"
            case .dnsTtl: "Nullable(UInt32)"
            case .pid: "Nullable(UInt32)"
            case .comm: "Nullable(String)"
            case .cgroupId: "Nullable(UInt64)"
            case .containerId, .podUid, .dstDnsName: "Nullable(String)"
            case .srcK8SName, .srcK8SNamespace, .srcK8SOwnerName, .srcK8SOwnerType, .srcK8SHostName: "Nullable(String)"
            case .dstK8SName, .dstK8SNamespace, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName: "Nullable(String)"
            case .srcK8SType, .dstK8SType: "Nullable(UInt8)"
            case .xlatDstK8SName, .xlatDstK8SNamespace: "Nullable(String)"
            case .dnsBaseName: "Nullable(String)"
            // The API's JSON text, as `dns_stages`.
            case .dnsTries: "Nullable(String)"
            case .dnsWastedQueries, .dnsTimeouts, .dnsRetryOf: "Nullable(UInt16)"
            case .dnsWastedMs, .dnsRetryGapMs: "Nullable(UInt64)"
            case .dnsSearchFix, .dnsCacheHit, .dnsServerSource: "Nullable(UInt8)"
            case .dnsAlertReason: "Nullable(String)"
            case .dnsUpstream, .dnsServes: "Nullable(String)"
            case .dnsDropReason: "Nullable(String)"
            }
        return (column?.name ?? "time_flow_end_ms", type)
    }

    func encode(_ r: FlowRecord, into row: inout RowBinaryWriter) {
        switch self {
        case .recordType: row.integer(r.recordType.rawValue)
        case .srcAddr: row.string(r.srcAddr.bytes)
        case .dstAddr: row.string(r.dstAddr.bytes)
        case .srcPort: row.integer(r.srcPort)
        case .dstPort: row.integer(r.dstPort)
        case .xlatDstAddr: row.string(nullIf: r.xlatDstAddr == nil) { r.xlatDstAddr?.append(to: &$0) }
        case .xlatDstPort: row.integer(r.xlatDstPort)
        case .proto: row.integer(r.proto)
        case .etype: row.integer(r.etype)
        case .bytes: row.integer(r.bytes)
        case .packets: row.integer(r.packets)
        case .timeFlowStartMs: row.integer(r.timeFlowStartMs)
        case .timeFlowEndMs: row.integer(r.timeFlowEndMs)
        case .interfaces: row.strings(r.interfaces)
        case .ifDirections: row.integers(r.ifDirections)
        case .flags: row.integer(r.flags)
        case .netNs: row.integer(r.netNs)
        case .netNsName: row.string(r.netNsName)
        case .nodeName: row.string(r.nodeName)
        case .dnsId: row.integer(r.dnsId.map(Int32.init) ?? ClickHouseRow.noDNSId)
        case .dnsFlags: row.integer(r.dnsFlags)
        case .dnsFlagsResponseCode: row.integer(r.dnsFlagsResponseCode?.rawValue)
        case .dnsLatencyMs: row.integer(r.dnsLatencyNs)
        case .dnsName: row.string(r.dnsName)
        case .dnsQType: row.integer(r.dnsQType?.rawValue)
        case .dnsErrno: row.integer(r.dnsErrno)
        case .dnsStages:
            row.string(nullIf: r.dnsStages.isEmpty) { FlowRecordJSON.encode(stages: r.dnsStages, into: &$0) }
        case .dnsRetransmits: row.integer(r.dnsRetransmits)
        case .dnsAnswers:
            row.string(nullIf: r.dnsAnswers == nil) {
                FlowRecordJSON.encode(addresses: r.dnsAnswers?.addresses ?? [], into: &$0)
            }
        case .dnsCnames: row.strings(r.dnsAnswers?.cnames ?? [])
        case .dnsTtl: row.integer(r.dnsAnswers?.ttl)
        case .pid: row.integer(r.requester?.pid)
        case .comm: row.string(r.requester?.comm)
        case .cgroupId: row.integer(r.requester?.cgroupId)
        case .containerId: row.string(r.requester?.containerId)
        case .podUid: row.string(r.requester?.podUid)
        case .dstDnsName: row.string(r.dstDnsName)
        case .srcK8SName: row.string(r.srcK8S?.name)
        case .srcK8SNamespace: row.string(r.srcK8S?.namespace)
        case .srcK8SType: row.integer(r.srcK8S?.kind.rawValue)
        case .srcK8SOwnerName: row.string(r.srcK8S?.ownerName)
        case .srcK8SOwnerType: row.string(r.srcK8S?.ownerType)
        case .srcK8SHostName: row.string(r.srcK8S?.hostName)
        case .dstK8SName: row.string(r.dstK8S?.name)
        case .dstK8SNamespace: row.string(r.dstK8S?.namespace)
        case .dstK8SType: row.integer(r.dstK8S?.kind.rawValue)
        case .dstK8SOwnerName: row.string(r.dstK8S?.ownerName)
        case .dstK8SOwnerType: row.string(r.dstK8S?.ownerType)
        case .dstK8SHostName: row.string(r.dstK8S?.hostName)
        case .xlatDstK8SName: row.string(r.xlatDstK8S?.name)
        case .xlatDstK8SNamespace: row.string(r.xlatDstK8S?.namespace)
        case .dnsBaseName: row.string(r.dnsBaseName)
        case .dnsTries: row.string(nullIf: r.dnsTries.isEmpty) { FlowRecordJSON.encode(tries: r.dnsTries, into: &$0) }
        case .dnsWastedQueries: row.integer(r.dnsWastedQueries)
        case .dnsWastedMs: row.integer(r.dnsWastedNs)
        case .dnsSearchFix: row.integer(r.dnsSearchFix?.rawValue)
        case .dnsTimeouts: row.integer(r.dnsTimeouts)
        case .dnsRetryOf: row.integer(r.dnsRetryOf)
        case .dnsRetryGapMs: row.integer(r.dnsRetryGapNs)
        case .dnsAlertReason: row.string(r.dnsAlertReason)
        case .dnsCacheHit: row.integer(r.dnsCacheHit.map { UInt8($0 ? 1 : 0) })
        case .dnsUpstream:
            row.string(nullIf: r.dnsUpstream.isEmpty) { FlowRecordJSON.encode(linked: r.dnsUpstream, into: &$0) }
        case .dnsServes:
            row.string(nullIf: r.dnsServes.isEmpty) { FlowRecordJSON.encode(linked: r.dnsServes, into: &$0) }
        case .dnsServerSource: row.integer(r.dnsServerSource?.rawValue)
        case .dnsDropReason: row.string(r.dnsDropReason)
        }
    }

    /// Reads in column order: the answers' and the requester's first column makes them, the later ones fill them.
    func decode(_ row: inout RowBinaryReader, into r: inout FlowRecord) throws(RowBinaryReader.Truncated) {
        switch self {
        case .recordType: r.recordType = RecordType(rawValue: try row.integer()) ?? .flow
        case .srcAddr: r.srcAddr = ClickHouseRow.address(try row.bytes())
        case .dstAddr: r.dstAddr = ClickHouseRow.address(try row.bytes())
        case .srcPort: r.srcPort = try row.integer()
        case .dstPort: r.dstPort = try row.integer()
        case .xlatDstAddr: r.xlatDstAddr = try row.isPresent() ? ClickHouseRow.address(try row.bytes()) : nil
        case .xlatDstPort: r.xlatDstPort = try row.optionalInteger()
        case .proto: r.proto = try row.integer()
        case .etype: r.etype = try row.integer()
        case .bytes: r.bytes = try row.integer()
        case .packets: r.packets = try row.integer()
        case .timeFlowStartMs: r.timeFlowStartMs = try row.integer()
        case .timeFlowEndMs: r.timeFlowEndMs = try row.integer()
        case .interfaces: r.interfaces = try row.strings()
        case .ifDirections: r.ifDirections = try row.integers()
        case .flags: r.flags = try row.integer()
        case .netNs: r.netNs = try row.integer()
        case .netNsName: r.netNsName = try row.optionalString()
        case .nodeName: r.nodeName = try row.string()
        case .dnsId:
            let id: Int32 = try row.integer()
            r.dnsId = id == ClickHouseRow.noDNSId ? nil : UInt16(truncatingIfNeeded: id)
        case .dnsFlags: r.dnsFlags = try row.optionalInteger()
        case .dnsFlagsResponseCode:
            r.dnsFlagsResponseCode = try row.optionalInteger(UInt8.self).map { DNSResponseCode(rawValue: $0) }
        case .dnsLatencyMs: r.dnsLatencyNs = try row.optionalInteger()
        case .dnsName: r.dnsName = try row.optionalString()
        case .dnsQType: r.dnsQType = try row.optionalInteger(UInt16.self).map { DNSQueryType(rawValue: $0) }
        case .dnsErrno: r.dnsErrno = try row.optionalInteger()
        case .dnsStages: r.dnsStages = try row.optionalString().map(FlowRow.stages(fromJSON:)) ?? []
        case .dnsRetransmits: r.dnsRetransmits = try row.optionalInteger()
        case .dnsAnswers:
            r.dnsAnswers = try row.optionalString().map { DNSAnswers(addresses: FlowRow.addresses(fromJSON: $0)) }
        case .dnsCnames:
            let cnames = try row.strings()
            r.dnsAnswers?.cnames = cnames
        case .dnsTtl:
            let ttl: UInt32? = try row.optionalInteger()
            r.dnsAnswers?.ttl = ttl
        case .pid: r.requester = try row.optionalInteger(UInt32.self).map { Requester(pid: $0, comm: "", cgroupId: 0) }
        case .comm: if let comm = try row.optionalString() { r.requester?.comm = comm }
        case .cgroupId: if let id: UInt64 = try row.optionalInteger() { r.requester?.cgroupId = id }
        // Read before assigning: an optional-chained assignment skips its right side when the requester is nil.
        case .containerId:
            let id = try row.optionalString()
            r.requester?.containerId = id
        case .podUid:
            let uid = try row.optionalString()
            r.requester?.podUid = uid
        case .dstDnsName: r.dstDnsName = try row.optionalString()
        // The name column makes each object, as in SQLite; the others fill it.
        case .srcK8SName:
            r.srcK8S = try row.optionalString().map { KubernetesObject(kind: .pod, name: $0, namespace: "") }
        case .srcK8SNamespace: if let namespace = try row.optionalString() { r.srcK8S?.namespace = namespace }
        case .srcK8SType: if let kind = try ClickHouseRow.kind(&row) { r.srcK8S?.kind = kind }
        case .srcK8SOwnerName:
            let name = try row.optionalString()
            r.srcK8S?.ownerName = name
        case .srcK8SOwnerType:
            let type = try row.optionalString()
            r.srcK8S?.ownerType = type
        case .srcK8SHostName:
            let host = try row.optionalString()
            r.srcK8S?.hostName = host
        case .dstK8SName:
            r.dstK8S = try row.optionalString().map { KubernetesObject(kind: .pod, name: $0, namespace: "") }
        case .dstK8SNamespace: if let namespace = try row.optionalString() { r.dstK8S?.namespace = namespace }
        case .dstK8SType: if let kind = try ClickHouseRow.kind(&row) { r.dstK8S?.kind = kind }
        case .dstK8SOwnerName:
            let name = try row.optionalString()
            r.dstK8S?.ownerName = name
        case .dstK8SOwnerType:
            let type = try row.optionalString()
            r.dstK8S?.ownerType = type
        case .dstK8SHostName:
            let host = try row.optionalString()
            r.dstK8S?.hostName = host
        case .xlatDstK8SName:
            r.xlatDstK8S = try row.optionalString().map { KubernetesObject(kind: .pod, name: $0, namespace: "") }
        case .xlatDstK8SNamespace: if let namespace = try row.optionalString() { r.xlatDstK8S?.namespace = namespace }
        case .dnsBaseName: r.dnsBaseName = try row.optionalString()
        case .dnsTries: r.dnsTries = try row.optionalString().map(FlowRow.tries(fromJSON:)) ?? []
        case .dnsWastedQueries: r.dnsWastedQueries = try row.optionalInteger()
        case .dnsWastedMs: r.dnsWastedNs = try row.optionalInteger()
        case .dnsSearchFix: r.dnsSearchFix = try row.optionalInteger(UInt8.self).flatMap(SearchPathFix.init(rawValue:))
        case .dnsTimeouts: r.dnsTimeouts = try row.optionalInteger()
        case .dnsRetryOf: r.dnsRetryOf = try row.optionalInteger()
        case .dnsRetryGapMs: r.dnsRetryGapNs = try row.optionalInteger()
        case .dnsAlertReason: r.dnsAlertReason = try row.optionalString()
        case .dnsCacheHit: r.dnsCacheHit = try row.optionalInteger(UInt8.self).map { $0 != 0 }
        case .dnsUpstream: r.dnsUpstream = try row.optionalString().map { FlowRow.linked(fromJSON: $0, as: self) } ?? []
        case .dnsServes: r.dnsServes = try row.optionalString().map { FlowRow.linked(fromJSON: $0, as: self) } ?? []
        case .dnsServerSource:
            r.dnsServerSource = try row.optionalInteger(UInt8.self).flatMap(DNSServerSource.init(rawValue:))
        case .dnsDropReason: r.dnsDropReason = try row.optionalString()
        }
    }
}
