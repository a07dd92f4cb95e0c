import DNSFlowCore

/// The 16-octet header every IPFIX message starts with.
public struct IPFIXMessageHeader: Equatable, Sendable {
    public var version: UInt16
    public var length: UInt16
    /// Seconds since the epoch when the message left the exporter.
    public var exportTime: UInt32
    /// Data records the observation domain sent before this message.
    public var sequenceNumber: UInt32
    public var observationDomainId: UInt32

    /// Reads and checks a header: version 10 and a length that covers at least the header.
    public init(_ bytes: some Collection<UInt8>) throws {
        let head = Array(bytes.prefix(IPFIX.messageHeaderLength))
        guard head.count == IPFIX.messageHeaderLength else {
            throw IPFIXError(.truncated, "message has \(head.count) octets, the header alone needs 16")
        }
        var reader = ByteReader(bytes: head, offset: 0, end: head.count)
        version = try reader.u16("version")
        length = try reader.u16("length")
        exportTime = try reader.u32("export time")
        sequenceNumber = try reader.u32("sequence number")
        observationDomainId = try reader.u32("observation domain id")
        guard version == IPFIX.version else {
            throw IPFIXError(.badVersion, "version \(version), expected 10 (IPFIX); is the sender using NetFlow?")
        }
        guard Int(length) >= IPFIX.messageHeaderLength else {
            throw IPFIXError(.badLength, "message length \(length) is shorter than its 16-octet header")
        }
    }
}

/// What one message held.
public struct IPFIXDecodedMessage: Sendable {
    public var header: IPFIXMessageHeader
    public var records: [FlowRecord]
    /// Template ids defined or withdrawn by this message.
    public var templateIds: [UInt16]
}

/// Decodes IPFIX messages into `FlowRecord`s, remembering templates per exporter and observation
/// domain as RFC 7011 section 8 asks. Fields it does not know are skipped, so a template with extra
/// elements still decodes; fields a template lacks keep zero or empty values.
public struct IPFIXDecoder: Sendable {
    /// The PEN our enterprise elements are registered under; must match the exporter's.
    public let enterpriseId: UInt32
    private var templates: [TemplateScope: [UInt16: [TemplateField]]] = [:]

    private struct TemplateScope: Hashable {
        var exporter: String
        var observationDomainId: UInt32
    }

    private struct TemplateField {
        /// Nil for elements we skip.
        var element: IPFIXElement?
        var length: UInt16
    }

    public init(enterpriseId: UInt32 = IPFIX.defaultEnterpriseId) {
        self.enterpriseId = enterpriseId
    }

    /// Forgets an exporter's templates, for example when its TCP connection closes (RFC 7011 8.1).
    public mutating func forget(exporter: String) {
        templates = templates.filter { $0.key.exporter != exporter }
    }

    /// Decodes one whole message. `exporter` names the sender (its address and port, or connection),
    /// since template ids are only unique per exporter and observation domain.
    public mutating func decode(_ message: [UInt8], exporter: String) throws -> IPFIXDecodedMessage {
        let header = try IPFIXMessageHeader(message)
        guard Int(header.length) <= message.count else {
            throw IPFIXError(.truncated, "header says \(header.length) octets, \(message.count) arrived")
        }
        let scope = TemplateScope(exporter: exporter, observationDomainId: header.observationDomainId)
        var reader = ByteReader(bytes: message, offset: IPFIX.messageHeaderLength, end: Int(header.length))
        var decoded = IPFIXDecodedMessage(header: header, records: [], templateIds: [])
        while reader.remaining > 0 {
            let setStart = reader.offset
            let setId = try reader.u16("set id")
            let setLength = Int(try reader.u16("set length"))
            guard setLength >= 4, setLength <= reader.remaining + 4 else {
                throw IPFIXError(
                    .badLength,
                    "set \(setId) at offset \(setStart) claims \(setLength) octets, \(reader.remaining + 4) left")
            }
            var set = ByteReader(bytes: message, offset: reader.offset, end: setStart + setLength)
            reader.offset = set.end
            switch setId {
            case IPFIX.templateSetId:
                decoded.templateIds += try readTemplates(&set, scope: scope)
            case IPFIX.optionsTemplateSetId:
                continue  // we define no options and need none from others
            case 256...:
                guard let fields = templates[scope]?[setId] else {
                    throw IPFIXError(
                        .unknownTemplate,
                        "data set for template \(setId) from \(exporter) domain \(header.observationDomainId) "
                            + "arrived before its template; it is dropped until the exporter resends templates")
                }
                let minimum = fields.reduce(0) { $0 + ($1.length == IPFIX.variableLength ? 1 : Int($1.length)) }
                // A template of zero-length fields would decode records of no octets forever (found
                // by fuzzing): such a set is refused, not looped over.
                guard minimum > 0 else {
                    throw IPFIXError(.badTemplate, "template \(setId) from \(exporter) describes records of no octets")
                }
                while set.remaining >= minimum {
                    decoded.records.append(try readRecord(&set, fields: fields))
                }
            default:
                throw IPFIXError(.badTemplate, "set id \(setId) at offset \(setStart) is reserved (4-255)")
            }
        }
        return decoded
    }

    private mutating func readTemplates(_ set: inout ByteReader, scope: TemplateScope) throws -> [UInt16] {
        var ids: [UInt16] = []
        // Fewer than 4 octets left is padding (RFC 7011 section 3.3.1).
        while set.remaining >= 4 {
            let id = try set.u16("template id")
            let count = Int(try set.u16("template \(id) field count"))
            guard id >= 256 else { throw IPFIXError(.badTemplate, "template id \(id) is below 256") }
            ids.append(id)
            guard count > 0 else {
                templates[scope]?[id] = nil  // a withdrawal
                continue
            }
            var fields: [TemplateField] = []
            for index in 0..<count {
                let rawId = try set.u16("template \(id) field \(index)")
                let length = try set.u16("template \(id) field \(index) length")
                let pen = rawId & IPFIX.enterpriseBit != 0 ? try set.u32("template \(id) field \(index) PEN") : 0
                fields.append(
                    TemplateField(element: element(id: rawId & ~IPFIX.enterpriseBit, pen: pen), length: length))
            }
            templates[scope, default: [:]][id] = fields
        }
        return ids
    }

    private func element(id: UInt16, pen: UInt32) -> IPFIXElement? {
        IPFIXElement.allCases.first { $0.id == id && ($0.enterpriseId(ours: enterpriseId) ?? 0) == pen }
    }

    private func readRecord(_ set: inout ByteReader, fields: [TemplateField]) throws -> FlowRecord {
        var record = FlowRecord.empty
        for field in fields {
            let length =
                field.length == IPFIX.variableLength ? try set.variableLength("variable length") : Int(field.length)
            guard let element = field.element else {
                _ = try set.take(length, "skipped field")
                continue
            }
            switch element {
            case .sourceIPv4Address, .sourceIPv6Address: record.srcAddr = try Self.address(&set, length, element)
            case .destinationIPv4Address, .destinationIPv6Address:
                record.dstAddr = try Self.address(&set, length, element)
            case .sourceTransportPort:
                record.srcPort = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .destinationTransportPort:
                record.dstPort = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .protocolIdentifier: record.proto = UInt8(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .ethernetType: record.etype = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .octetDeltaCount: record.bytes = try set.unsigned(length, "\(element)")
            case .packetDeltaCount: record.packets = try set.unsigned(length, "\(element)")
            case .flowStartMilliseconds:
                record.timeFlowStartMs = Int64(bitPattern: try set.unsigned(length, "\(element)"))
            case .flowEndMilliseconds: record.timeFlowEndMs = Int64(bitPattern: try set.unsigned(length, "\(element)"))
            case .tcpControlBits: record.flags = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .flowDirection: _ = try set.take(length, "\(element)")  // ifDirections carries every interface's
            case .interfaceName:
                let text = String(decoding: try set.take(length, "\(element)"), as: UTF8.self)
                record.interfaces =
                    text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            case .ifDirections: record.ifDirections = Array(try set.take(length, "\(element)"))
            case .netNs: record.netNs = UInt32(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .nodeName: record.nodeName = String(decoding: try set.take(length, "\(element)"), as: UTF8.self)
            case .certDnsId, .dnsId: record.dnsId = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .dnsFlags: record.dnsFlags = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .dnsRcode:
                let code = UInt8(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
                record.dnsFlagsResponseCode = DNSCodes.present(code, unless: DNSCodes.absentRcode).map {
                    DNSResponseCode(rawValue: $0)
                }
            case .dnsLatencyNanoseconds:
                record.dnsLatencyNs = DNSCodes.present(
                    try set.unsigned(length, "\(element)"), unless: DNSCodes.absentLatency)
            case .dnsQType:
                let type = UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
                record.dnsQType = DNSCodes.present(type, unless: DNSCodes.absentQType).map {
                    DNSQueryType(rawValue: $0)
                }
            case .dnsErrno:
                record.dnsErrno = DNSCodes.present(
                    UInt8(truncatingIfNeeded: try set.unsigned(length, "\(element)")), unless: DNSCodes.absentErrno)
            case .dnsName: record.dnsName = String(decoding: try set.take(length, "\(element)"), as: UTF8.self)
            }
        }
        return record
    }

    private static func address(_ set: inout ByteReader, _ length: Int, _ element: IPFIXElement) throws -> IPAddress {
        guard length == 4 || length == 16 else {
            throw IPFIXError(.badRecord, "\(element) has length \(length); an address is 4 or 16 octets")
        }
        return length == 4
            ? .v4(UInt32(try set.unsigned(4, "\(element)")))
            : .v6(high: try set.unsigned(8, "\(element)"), low: try set.unsigned(8, "\(element)"))
    }
}

/// Cuts a TCP byte stream into IPFIX messages using each header's length field (RFC 7011 section 10.4).
public struct IPFIXStreamFramer: Sendable {
    private var pending: [UInt8] = []
    /// Where the next message starts in `pending`; consumed bytes are dropped in bulk, not per message.
    private var start = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= pending.count / 2 {
            pending.removeFirst(start)
            start = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// The next whole message, or nil until more bytes arrive. Throws when the stream cannot be
    /// IPFIX; the connection should then be closed, since the framing is lost.
    public mutating func next() throws -> [UInt8]? {
        guard pending.count - start >= IPFIX.messageHeaderLength else { return nil }
        let header = try IPFIXMessageHeader(pending[start...])
        let end = start + Int(header.length)
        guard pending.count >= end else { return nil }
        defer { start = end }
        return Array(pending[start..<end])
    }
}
