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

    /// Writes the field's key and value, or nothing when the record lacks it. Inlined into the
    /// writer's loop over the fields, which then jumps to each arm instead of calling per field.
    @inline(__always)
    func write(_ r: UnsafePointer<FlowRecord>, to w: inout JSONWriter) {
        switch self {
        case .srcAddr: w.field(self, r.pointee.srcAddr)
        case .dstAddr: w.field(self, r.pointee.dstAddr)
        case .srcPort: w.field(self, r.pointee.srcPort)
        case .dstPort: w.field(self, r.pointee.dstPort)
        case .proto: w.field(self, r.pointee.proto)
        case .etype: w.field(self, r.pointee.etype)
        case .bytes: w.field(self, r.pointee.bytes)
        case .packets: w.field(self, r.pointee.packets)
        case .timeFlowStartMs: w.field(self, r.pointee.timeFlowStartMs)
        case .timeFlowEndMs: w.field(self, r.pointee.timeFlowEndMs)
        case .interfaces: w.field(self, r.pointee.interfaces)
        case .ifDirections: w.field(self, r.pointee.ifDirections)
        case .flags: w.field(self, r.pointee.flags)
        case .netNs: w.field(self, r.pointee.netNs)
        case .nodeName: w.field(self, r.pointee.nodeName)
        case .dnsId: w.field(self, r.pointee.dnsId)
        case .dnsFlags: w.field(self, r.pointee.dnsFlags)
        case .dnsFlagsResponseCode: w.field(self, r.pointee.dnsFlagsResponseCode?.name)
        case .dnsLatencyMs: w.milliseconds(self, nanoseconds: r.pointee.dnsLatencyNs)
        case .dnsName: w.field(self, r.pointee.dnsName)
        case .dnsQType: w.field(self, r.pointee.dnsQType?.name)
        case .dnsErrno: w.field(self, r.pointee.dnsErrno)
        }
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

    /// The most bytes `write` takes for the field's value, key aside: 21 for a number, 27 for the
    /// latency, a string quoted with each byte escaped as `\u00XX` at worst.
    @inline(__always)
    func maxValueLength(_ r: UnsafePointer<FlowRecord>) -> Int {
        switch self {
        case .srcAddr, .dstAddr: IPAddress.maxTextLength + 2
        case .interfaces: r.pointee.interfaces.reduce(2) { $0 + 6 * $1.utf8.count + 3 }
        case .ifDirections: 2 + 4 * r.pointee.ifDirections.count
        case .nodeName: 6 * r.pointee.nodeName.utf8.count + 2
        case .dnsName: 6 * (r.pointee.dnsName?.utf8.count ?? 0) + 2
        case .dnsFlagsResponseCode, .dnsQType: 16
        case .dnsLatencyMs: 27
        case .srcPort, .dstPort, .proto, .etype, .bytes, .packets, .timeFlowStartMs, .timeFlowEndMs, .flags, .netNs,
            .dnsId, .dnsFlags, .dnsErrno:
            21
        }
    }
}
