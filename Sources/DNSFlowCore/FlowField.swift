/// The fields of `FlowRecord` in wire order, with their JSON keys: the one list the JSON writer and
/// reader walk, and the store's row (`FlowField.column` in DNSFlowStore). Adding a field is a case
/// here and its arms in each switch over it, which the compiler asks for.
public enum FlowField: Int, CaseIterable, Sendable {
    case recordType
    case srcAddr, dstAddr, srcPort, dstPort, xlatDstAddr, xlatDstPort, proto, etype, bytes, packets
    case timeFlowStartMs, timeFlowEndMs, interfaces, ifDirections, flags, netNs, netNsName, nodeName
    case dnsId, dnsFlags, dnsFlagsResponseCode, dnsLatencyMs, dnsName, dnsQType, dnsErrno
    case dnsStages, dnsRetransmits, dnsAnswers, dnsCnames, dnsTtl
    /// The requester's, flat at the top level as flowlogs-pipeline writes its enrichment.
    case pid, comm, cgroupId, containerId, podUid
    case dstDnsName
    /// flowlogs-pipeline's Kubernetes enrichment, each end's object flat at the top level.
    case srcK8SName, srcK8SNamespace, srcK8SType, srcK8SOwnerName, srcK8SOwnerType, srcK8SHostName
    case dstK8SName, dstK8SNamespace, dstK8SType, dstK8SOwnerName, dstK8SOwnerType, dstK8SHostName
    case xlatDstK8SName, xlatDstK8SNamespace
    /// DNS health's.
    case dnsBaseName, dnsTries, dnsWastedQueries, dnsWastedMs, dnsSearchFix, dnsTimeouts, dnsRetryOf, dnsRetryGapMs
    case dnsAlertReason
    case dnsDropReason
    case dnsCacheHit, dnsUpstream, dnsServes, dnsServerSource

    /// The JSON key, as NetObserv spells it.
    public var key: String {
        let quoted = UnsafeBufferPointer(start: quotedKey.utf8Start, count: quotedKey.utf8CodeUnitCount)
        return String(decoding: quoted.dropFirst().dropLast(2), as: UTF8.self)
    }

    /// The key as the writer writes it, `"Key":`: one copy per key.
    @inline(__always)
    var quotedKey: StaticString {
        switch self {
        case .recordType: #""RecordType":"#
        case .srcAddr: #""SrcAddr":"#
        case .dstAddr: #""DstAddr":"#
        case .srcPort: #""SrcPort":"#
        case .dstPort: #""DstPort":"#
        case .xlatDstAddr: #""XlatDstAddr":"#
        case .xlatDstPort: #""XlatDstPort":"#
        case .proto: #""Proto":"#
        case .etype: #""Etype":"#
        case .bytes: #""Bytes":"#
        case .packets: #""Packets":"#
        case .timeFlowStartMs: #""TimeFlowStartMs":"#
        case .timeFlowEndMs: #""TimeFlowEndMs":"#
        case .interfaces: #""Interfaces":"#
        case .ifDirections: #""IfDirections":"#
        case .flags: #""Flags":"#
        case .netNs: #""NetNs":"#
        case .netNsName: #""NetNsName":"#
        case .nodeName: #""NodeName":"#
        case .dnsId: #""DnsId":"#
        case .dnsFlags: #""DnsFlags":"#
        case .dnsFlagsResponseCode: #""DnsFlagsResponseCode":"#
        case .dnsLatencyMs: #""DnsLatencyMs":"#
        case .dnsName: #""DnsName":"#
        case .dnsQType: #""DnsQType":"#
        case .dnsErrno: #""DnsErrno":"#
        case .dnsStages: #""DnsStages":"#
        case .dnsRetransmits: #""DnsRetransmits":"#
        case .dnsAnswers: #""DnsAnswers":"#
        case .dnsCnames: #""DnsCnames":"#
        case .dnsTtl: #""DnsTtl":"#
        case .pid: #""Pid":"#
        case .comm: #""Comm":"#
        case .cgroupId: #""CgroupId":"#
        case .containerId: #""ContainerId":"#
        case .podUid: #""PodUid":"#
        case .dstDnsName: #""DstDnsName":"#
        case .srcK8SName: #""SrcK8S_Name":"#
        case .srcK8SNamespace: #""SrcK8S_Namespace":"#
        case .srcK8SType: #""SrcK8S_Type":"#
        case .srcK8SOwnerName: #""SrcK8S_OwnerName":"#
        case .srcK8SOwnerType: #""SrcK8S_OwnerType":"#
        case .srcK8SHostName: #""SrcK8S_HostName":"#
        case .dstK8SName: #""DstK8S_Name":"#
        case .dstK8SNamespace: #""DstK8S_Namespace":"#
        case .dstK8SType: #""DstK8S_Type":"#
        case .dstK8SOwnerName: #""DstK8S_OwnerName":"#
        case .dstK8SOwnerType: #""DstK8S_OwnerType":"#
        case .dstK8SHostName: #""DstK8S_HostName":"#
        case .xlatDstK8SName: #""XlatDstK8S_Name":"#
        case .xlatDstK8SNamespace: #""XlatDstK8S_Namespace":"#
        case .dnsBaseName: #""DnsBaseName":"#
        case .dnsTries: #""DnsTries":"#
        case .dnsWastedQueries: #""DnsWastedQueries":"#
        case .dnsWastedMs: #""DnsWastedMs":"#
        case .dnsSearchFix: #""DnsSearchFix":"#
        case .dnsTimeouts: #""DnsTimeouts":"#
        case .dnsRetryOf: #""DnsRetryOf":"#
        case .dnsRetryGapMs: #""DnsRetryGapMs":"#
        case .dnsAlertReason: #""DnsAlertReason":"#
        case .dnsDropReason: #""DnsDropReason":"#
        case .dnsCacheHit: #""DnsCacheHit":"#
        case .dnsUpstream: #""DnsUpstream":"#
        case .dnsServes: #""DnsServes":"#
        case .dnsServerSource: #""DnsServerSource":"#
        }
    }

    /// A flow's counters and 5-tuple must be present; the rest may be absent (or null), `RecordType`
    /// then reading as `flow`.
    public var isRequired: Bool {
        switch self {
        case .srcAddr, .dstAddr, .srcPort, .dstPort, .proto, .etype, .bytes, .packets, .timeFlowStartMs,
            .timeFlowEndMs, .interfaces, .ifDirections, .flags, .netNs, .nodeName:
            true
        default: false
        }
    }

    /// Writes every field of `r` in wire order, each with its key; an absent DNS field not at all.
    /// Straight-line rather than a loop over `allCases` and a switch: the loop's indirect jump per
    /// field, and the key looked up by another, took a third of the writer's time. The encoding
    /// tests check that this order is `allCases`.
    @inline(__always)
    static func writeAll(_ r: UnsafePointer<FlowRecord>, to w: inout JSONWriter) {
        w.field(.recordType, r.pointee.recordType.name)
        w.field(.srcAddr, r.pointee.srcAddr)
        w.field(.dstAddr, r.pointee.dstAddr)
        w.field(.srcPort, r.pointee.srcPort)
        w.field(.dstPort, r.pointee.dstPort)
        w.field(.xlatDstAddr, r.pointee.xlatDstAddr)
        w.field(.xlatDstPort, r.pointee.xlatDstPort)
        w.field(.proto, r.pointee.proto)
        w.field(.etype, r.pointee.etype)
        w.field(.bytes, r.pointee.bytes)
        w.field(.packets, r.pointee.packets)
        w.field(.timeFlowStartMs, r.pointee.timeFlowStartMs)
        w.field(.timeFlowEndMs, r.pointee.timeFlowEndMs)
        w.field(.interfaces, r.pointee.interfaces)
        w.field(.ifDirections, r.pointee.ifDirections)
        w.field(.flags, r.pointee.flags)
        w.field(.netNs, r.pointee.netNs)
        w.field(.netNsName, r.pointee.netNsName)
        w.field(.nodeName, r.pointee.nodeName)
        w.field(.dnsId, r.pointee.dnsId)
        w.field(.dnsFlags, r.pointee.dnsFlags)
        w.field(.dnsFlagsResponseCode, r.pointee.dnsFlagsResponseCode?.name)
        w.milliseconds(.dnsLatencyMs, nanoseconds: r.pointee.dnsLatencyNs)
        w.field(.dnsName, r.pointee.dnsName)
        w.field(.dnsQType, r.pointee.dnsQType?.name)
        w.field(.dnsErrno, r.pointee.dnsErrno)
        w.field(.dnsStages, r.pointee.dnsStages)
        w.field(.dnsRetransmits, r.pointee.dnsRetransmits)
        // Both arrays whenever the response was decoded, empty or not: `[]` says it answered nothing.
        w.field(.dnsAnswers, r.pointee.dnsAnswers?.addresses)
        w.field(.dnsCnames, r.pointee.dnsAnswers?.cnames)
        w.field(.dnsTtl, r.pointee.dnsAnswers?.ttl)
        w.field(.pid, r.pointee.requester?.pid)
        w.field(.comm, r.pointee.requester?.comm)
        w.field(.cgroupId, r.pointee.requester?.cgroupId)
        w.field(.containerId, r.pointee.requester?.containerId)
        w.field(.podUid, r.pointee.requester?.podUid)
        w.field(.dstDnsName, r.pointee.dstDnsName)
        w.field(.srcK8SName, r.pointee.srcK8S?.name)
        w.field(.srcK8SNamespace, r.pointee.srcK8S?.namespace)
        w.field(.srcK8SType, r.pointee.srcK8S?.kind.name)
        w.field(.srcK8SOwnerName, r.pointee.srcK8S?.ownerName)
        w.field(.srcK8SOwnerType, r.pointee.srcK8S?.ownerType)
        w.field(.srcK8SHostName, r.pointee.srcK8S?.hostName)
        w.field(.dstK8SName, r.pointee.dstK8S?.name)
        w.field(.dstK8SNamespace, r.pointee.dstK8S?.namespace)
        w.field(.dstK8SType, r.pointee.dstK8S?.kind.name)
        w.field(.dstK8SOwnerName, r.pointee.dstK8S?.ownerName)
        w.field(.dstK8SOwnerType, r.pointee.dstK8S?.ownerType)
        w.field(.dstK8SHostName, r.pointee.dstK8S?.hostName)
        w.field(.xlatDstK8SName, r.pointee.xlatDstK8S?.name)
        w.field(.xlatDstK8SNamespace, r.pointee.xlatDstK8S?.namespace)
        w.field(.dnsBaseName, r.pointee.dnsBaseName)
        w.field(.dnsTries, r.pointee.dnsTries)
        w.field(.dnsWastedQueries, r.pointee.dnsWastedQueries)
        w.milliseconds(.dnsWastedMs, nanoseconds: r.pointee.dnsWastedNs)
        w.field(.dnsSearchFix, r.pointee.dnsSearchFix?.line)
        w.field(.dnsTimeouts, r.pointee.dnsTimeouts)
        w.field(.dnsRetryOf, r.pointee.dnsRetryOf)
        w.milliseconds(.dnsRetryGapMs, nanoseconds: r.pointee.dnsRetryGapNs)
        w.field(.dnsAlertReason, r.pointee.dnsAlertReason)
        w.field(.dnsDropReason, r.pointee.dnsDropReason)
        w.field(.dnsCacheHit, r.pointee.dnsCacheHit)
        w.field(.dnsUpstream, r.pointee.dnsUpstream)
        w.field(.dnsServes, r.pointee.dnsServes)
        w.field(.dnsServerSource, r.pointee.dnsServerSource?.name)
    }

    /// Reads the field's value, the reader past its key, into `r`.
    func read(from j: inout JSONReader, into r: inout FlowRecord) throws(FlowJSONError) {
        switch self {
        case .recordType: r.recordType = try j.nullOr { (j) throws(FlowJSONError) in try j.recordType() } ?? .flow
        case .srcAddr: r.srcAddr = try j.address()
        case .dstAddr: r.dstAddr = try j.address()
        case .srcPort: r.srcPort = try j.integer()
        case .dstPort: r.dstPort = try j.integer()
        case .xlatDstAddr: r.xlatDstAddr = try j.nullOr { (j) throws(FlowJSONError) in try j.address() }
        case .xlatDstPort: r.xlatDstPort = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .proto: r.proto = try j.integer()
        case .etype: r.etype = try j.integer()
        case .bytes: r.bytes = try j.integer()
        case .packets: r.packets = try j.integer()
        case .timeFlowStartMs: r.timeFlowStartMs = try j.integer()
        case .timeFlowEndMs: r.timeFlowEndMs = try j.integer()
        case .interfaces: r.interfaces = try j.array { (j) throws(FlowJSONError) in try j.string() }
        case .ifDirections: r.ifDirections = try j.array { (j) throws(FlowJSONError) in try j.integer() }
        case .flags: r.flags = try j.integer()
        case .netNs: r.netNs = try j.integer()
        case .netNsName: r.netNsName = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .nodeName: r.nodeName = try j.string()
        case .dnsId: r.dnsId = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsFlags: r.dnsFlags = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsFlagsResponseCode: r.dnsFlagsResponseCode = try j.nullOr { (j) throws(FlowJSONError) in try j.rcode() }
        case .dnsLatencyMs: r.dnsLatencyNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        case .dnsName: r.dnsName = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .dnsQType: r.dnsQType = try j.nullOr { (j) throws(FlowJSONError) in try j.qtype() }
        case .dnsErrno: r.dnsErrno = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsStages: r.dnsStages = try j.nullOr { (j) throws(FlowJSONError) in try j.stages() } ?? []
        case .dnsRetransmits: r.dnsRetransmits = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        // The answers and the requester come in several keys, in any order: the first one read makes them.
        case .dnsAnswers:
            let addresses = try j.nullOr { (j) throws(FlowJSONError) in try j.addresses() }
            if let addresses { r.readAnswers.addresses = addresses }
        case .dnsCnames:
            let cnames = try j.nullOr { (j) throws(FlowJSONError) in
                try j.array { (j) throws(FlowJSONError) in try j.string() }
            }
            if let cnames { r.readAnswers.cnames = cnames }
        case .dnsTtl:
            let ttl: UInt32? = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
            if let ttl { r.readAnswers.ttl = ttl }
        case .pid:
            let pid: UInt32? = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
            if let pid { r.readRequester.pid = pid }
        case .comm:
            let comm = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
            if let comm { r.readRequester.comm = comm }
        case .cgroupId:
            let cgroupId: UInt64? = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
            if let cgroupId { r.readRequester.cgroupId = cgroupId }
        case .containerId:
            let containerId = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
            if let containerId { r.readRequester.containerId = containerId }
        case .podUid:
            let podUid = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
            if let podUid { r.readRequester.podUid = podUid }
        case .dstDnsName: r.dstDnsName = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        // Each object comes in several keys, in any order: the first one read makes it.
        case .srcK8SName, .srcK8SNamespace, .srcK8SType, .srcK8SOwnerName, .srcK8SOwnerType, .srcK8SHostName:
            try j.kubernetesField(self, into: &r.srcK8S)
        case .dstK8SName, .dstK8SNamespace, .dstK8SType, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName:
            try j.kubernetesField(self, into: &r.dstK8S)
        case .xlatDstK8SName, .xlatDstK8SNamespace: try j.kubernetesField(self, into: &r.xlatDstK8S)
        case .dnsBaseName: r.dnsBaseName = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .dnsTries: r.dnsTries = try j.nullOr { (j) throws(FlowJSONError) in try j.tries() } ?? []
        case .dnsWastedQueries: r.dnsWastedQueries = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsWastedMs: r.dnsWastedNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        case .dnsSearchFix: r.dnsSearchFix = try j.nullOr { (j) throws(FlowJSONError) in try j.searchFix() }
        case .dnsTimeouts: r.dnsTimeouts = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsRetryOf: r.dnsRetryOf = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsRetryGapMs: r.dnsRetryGapNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        case .dnsAlertReason: r.dnsAlertReason = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .dnsDropReason: r.dnsDropReason = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .dnsCacheHit: r.dnsCacheHit = try j.nullOr { (j) throws(FlowJSONError) in try j.boolean() }
        case .dnsUpstream:
            r.dnsUpstream = try j.nullOr { (j) throws(FlowJSONError) in try j.linkedLookups(.dnsUpstream) } ?? []
        case .dnsServes:
            r.dnsServes = try j.nullOr { (j) throws(FlowJSONError) in try j.linkedLookups(.dnsServes) } ?? []
        case .dnsServerSource:
            r.dnsServerSource = try j.nullOr { (j) throws(FlowJSONError) in try j.serverSource() }
        }
    }

    /// The most bytes the writer takes for the field's value, key aside, whatever the record: 21 for
    /// a number, 27 for a latency, 16 for a name of a code; for the fields of variable length, their
    /// brackets or quotes (`variableValueLength` adds the rest).
    var fixedValueLength: Int {
        switch self {
        case .srcAddr, .dstAddr, .xlatDstAddr: IPAddress.maxTextLength + 2
        case .interfaces, .ifDirections, .netNsName, .nodeName, .dnsName, .dnsStages, .dnsAnswers, .dnsCnames, .comm,
            .containerId, .podUid, .dstDnsName, .srcK8SName, .srcK8SNamespace, .srcK8SOwnerName, .srcK8SOwnerType,
            .srcK8SHostName, .dstK8SName, .dstK8SNamespace, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName,
            .xlatDstK8SName, .xlatDstK8SNamespace:
            2
        case .srcK8SType, .dstK8SType: 16
        case .recordType, .dnsFlagsResponseCode, .dnsQType: 16
        case .recordType, .dnsFlagsResponseCode, .dnsQType, .dnsServerSource: 16
        case .dnsCacheHit: 5
        case .dnsUpstream, .dnsServes: 2
        case .dnsLatencyMs: 27
        case .srcPort, .dstPort, .xlatDstPort, .proto, .etype, .bytes, .packets, .timeFlowStartMs, .timeFlowEndMs,
            .flags, .netNs, .dnsId, .dnsFlags, .dnsErrno, .dnsRetransmits, .dnsTtl, .pid, .cgroupId:
            21
        case .dnsBaseName, .dnsTries, .dnsSearchFix, .dnsAlertReason: 2
        case .dnsDropReason: 2
        case .dnsWastedMs, .dnsRetryGapMs: 27
        case .dnsWastedQueries, .dnsTimeouts, .dnsRetryOf: 21
        }
    }

    /// What the fields of variable length add to their `fixedValueLength`: a string quoted with each
    /// byte escaped as `\u00XX` at worst, a comma after each array element.
    @inline(__always)
    static func variableValueLength(_ r: UnsafePointer<FlowRecord>) -> Int {
        var length = r.pointee.interfaces.reduce(0) { $0 + escapedLength($1) + 3 } + 4 * r.pointee.ifDirections.count
        length += escapedLength(r.pointee.nodeName) + escapedLength(r.pointee.netNsName)
        length += escapedLength(r.pointee.dnsName) + escapedLength(r.pointee.dstDnsName)
        if !r.pointee.dnsStages.isEmpty { length += DNSStageField.maxLength(of: r.pointee.dnsStages) }
        length += (r.pointee.dnsAnswers?.addresses.count ?? 0) * (IPAddress.maxTextLength + 3)
        length += r.pointee.dnsAnswers?.cnames.reduce(0) { $0 + escapedLength($1) + 3 } ?? 0
        length += escapedLength(r.pointee.requester?.comm) + escapedLength(r.pointee.requester?.containerId)
        length += escapedLength(r.pointee.requester?.podUid)
        return length + KubernetesObject.stringsLength(r.pointee.srcK8S)
            + KubernetesObject.stringsLength(r.pointee.dstK8S) + KubernetesObject.stringsLength(r.pointee.xlatDstK8S)
            + FlowField.healthValueLength(r)
            + DNSLinkedLookupField.maxLength(of: r.pointee.dnsUpstream)
            + DNSLinkedLookupField.maxLength(of: r.pointee.dnsServes)
    }
}

/// A string's text at worst, every byte escaped as `\u00XX`, quotes aside.
@inline(__always)
func escapedLength(_ text: String?) -> Int { 6 * (text?.utf8.count ?? 0) }

/// The key of a member of an object inside a record, as the writer writes it, `"Key":`.
protocol NestedJSONKey {
    var quotedKey: StaticString { get }
}

extension NestedJSONKey {
    /// The key's bytes, quotes and colon aside.
    var name: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: quotedKey.utf8Start + 1, count: quotedKey.utf8CodeUnitCount - 3)
    }

    var key: String { String(decoding: name, as: UTF8.self) }
}

/// The keys of a `DnsStages` element, in the order the writer writes them.
enum DNSStageField: Int, CaseIterable, NestedJSONKey {
    case netNs, netNsName, interface, serverAddr, serverPort, latencyMs

    var quotedKey: StaticString {
        switch self {
        case .netNs: #""NetNs":"#
        case .netNsName: #""NetNsName":"#
        case .interface: #""Interface":"#
        case .serverAddr: #""ServerAddr":"#
        case .serverPort: #""ServerPort":"#
        case .latencyMs: #""LatencyMs":"#
        }
    }

    var isRequired: Bool { self != .netNsName && self != .latencyMs }

    static let requiredMask: UInt64 = allCases.reduce(0) { $1.isRequired ? $0 | 1 << $1.rawValue : $0 }

    /// Reads the key's value, the reader past its key, into `stage`.
    func read(from j: inout JSONReader, into stage: inout DNSStage) throws(FlowJSONError) {
        switch self {
        case .netNs: stage.netNs = try j.integer()
        case .netNsName: stage.netNsName = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .interface: stage.interface = try j.string()
        case .serverAddr: stage.serverAddr = try j.address()
        case .serverPort: stage.serverPort = try j.integer()
        case .latencyMs: stage.latencyNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        }
    }

    /// As `FlowField.fixedValueLength`.
    private var fixedValueLength: Int {
        switch self {
        case .netNs, .serverPort: 21
        case .netNsName, .interface: 2
        case .serverAddr: IPAddress.maxTextLength + 2
        case .latencyMs: 27
        }
    }

    /// A stage's keys, commas and values' fixed parts, its braces and the comma after it.
    private static let fixedLength = allCases.reduce(3) {
        $0 + $1.quotedKey.utf8CodeUnitCount + 1 + $1.fixedValueLength
    }

    /// The most bytes `JSONWriter.stages` takes for `stages`, brackets included.
    static func maxLength(of stages: borrowing [DNSStage]) -> Int {
        stages.reduce(2) { $0 + fixedLength + escapedLength($1.netNsName) + escapedLength($1.interface) }
    }
}
