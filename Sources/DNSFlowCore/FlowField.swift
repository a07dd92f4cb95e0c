/// The fields of `FlowRecord` in wire order, with their JSON keys: the one list the JSON writer and
/// reader walk, and the store's row (`FlowField.column` in DNSFlowStore). Adding a field is a case
/// here and its arms in each switch over it, which the compiler asks for.
public enum FlowField: Int, CaseIterable, Sendable {
    case srcAddr, dstAddr, srcPort, dstPort, proto, etype, bytes, packets, timeFlowStartMs, timeFlowEndMs
    case interfaces, ifDirections, flags, netNs, nodeName
    case dnsId, dnsFlags, dnsFlagsResponseCode, dnsLatencyMs, dnsName, dnsQType, dnsErrno

    /// The JSON key, as NetObserv spells it.
    public var key: String {
        let quoted = UnsafeBufferPointer(start: quotedKey.utf8Start, count: quotedKey.utf8CodeUnitCount)
        return String(decoding: quoted.dropFirst().dropLast(2), as: UTF8.self)
    }

    /// The key as the writer writes it, `"Key":`: one copy per key.
    @inline(__always)
    var quotedKey: StaticString {
        switch self {
        case .srcAddr: #""SrcAddr":"#
        case .dstAddr: #""DstAddr":"#
        case .srcPort: #""SrcPort":"#
        case .dstPort: #""DstPort":"#
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
        case .nodeName: #""NodeName":"#
        case .dnsId: #""DnsId":"#
        case .dnsFlags: #""DnsFlags":"#
        case .dnsFlagsResponseCode: #""DnsFlagsResponseCode":"#
        case .dnsLatencyMs: #""DnsLatencyMs":"#
        case .dnsName: #""DnsName":"#
        case .dnsQType: #""DnsQType":"#
        case .dnsErrno: #""DnsErrno":"#
        }
    }

    /// Every field up to `nodeName` must be present; the DNS fields may be absent (or null).
    public var isRequired: Bool { rawValue <= FlowField.nodeName.rawValue }

    /// Writes every field of `r` in wire order, each with its key; an absent DNS field not at all.
    /// Straight-line rather than a loop over `allCases` and a switch: the loop's indirect jump per
    /// field, and the key looked up by another, took a third of the writer's time. The encoding
    /// tests check that this order is `allCases`.
    @inline(__always)
    static func writeAll(_ r: UnsafePointer<FlowRecord>, to w: inout JSONWriter) {
        w.field(.srcAddr, r.pointee.srcAddr)
        w.field(.dstAddr, r.pointee.dstAddr)
        w.field(.srcPort, r.pointee.srcPort)
        w.field(.dstPort, r.pointee.dstPort)
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
        w.field(.nodeName, r.pointee.nodeName)
        w.field(.dnsId, r.pointee.dnsId)
        w.field(.dnsFlags, r.pointee.dnsFlags)
        w.field(.dnsFlagsResponseCode, r.pointee.dnsFlagsResponseCode?.name)
        w.milliseconds(.dnsLatencyMs, nanoseconds: r.pointee.dnsLatencyNs)
        w.field(.dnsName, r.pointee.dnsName)
        w.field(.dnsQType, r.pointee.dnsQType?.name)
        w.field(.dnsErrno, r.pointee.dnsErrno)
    }

    /// Reads the field's value, the reader past its key, into `r`.
    func read(from j: inout JSONReader, into r: inout FlowRecord) throws(FlowJSONError) {
        switch self {
        case .srcAddr: r.srcAddr = try j.address()
        case .dstAddr: r.dstAddr = try j.address()
        case .srcPort: r.srcPort = try j.integer()
        case .dstPort: r.dstPort = try j.integer()
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
        case .nodeName: r.nodeName = try j.string()
        case .dnsId: r.dnsId = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsFlags: r.dnsFlags = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        case .dnsFlagsResponseCode: r.dnsFlagsResponseCode = try j.nullOr { (j) throws(FlowJSONError) in try j.rcode() }
        case .dnsLatencyMs: r.dnsLatencyNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        case .dnsName: r.dnsName = try j.nullOr { (j) throws(FlowJSONError) in try j.string() }
        case .dnsQType: r.dnsQType = try j.nullOr { (j) throws(FlowJSONError) in try j.qtype() }
        case .dnsErrno: r.dnsErrno = try j.nullOr { (j) throws(FlowJSONError) in try j.integer() }
        }
    }

    /// The most bytes the writer takes for the field's value, key aside, whatever the record: 21 for
    /// a number, 27 for the latency; for the fields of variable length, their brackets or quotes
    /// (`variableValueLength` adds the rest).
    var fixedValueLength: Int {
        switch self {
        case .srcAddr, .dstAddr: IPAddress.maxTextLength + 2
        case .interfaces, .ifDirections, .nodeName, .dnsName: 2
        case .dnsFlagsResponseCode, .dnsQType: 16
        case .dnsLatencyMs: 27
        case .srcPort, .dstPort, .proto, .etype, .bytes, .packets, .timeFlowStartMs, .timeFlowEndMs, .flags, .netNs,
            .dnsId, .dnsFlags, .dnsErrno:
            21
        }
    }

    /// What the fields of variable length add to their `fixedValueLength`: a string quoted with each
    /// byte escaped as `\u00XX` at worst, a comma after each array element.
    @inline(__always)
    static func variableValueLength(_ r: UnsafePointer<FlowRecord>) -> Int {
        r.pointee.interfaces.reduce(0) { $0 + 6 * $1.utf8.count + 3 } + 4 * r.pointee.ifDirections.count
            + 6 * r.pointee.nodeName.utf8.count + 6 * (r.pointee.dnsName?.utf8.count ?? 0)
    }
}
