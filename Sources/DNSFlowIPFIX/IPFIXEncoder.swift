import DNSFlowCore

/// Messages produced from one batch of records.
public struct IPFIXEncodedBatch: Sendable {
    /// Complete IPFIX messages, each at most `maxMessageSize` octets, in sequence-number order.
    public var messages: [[UInt8]]
    /// Records written into `messages`.
    public var encodedRecords: Int
    /// Records left out: an address that is not IPv4/IPv6 text, or a record larger than a message.
    public var skippedRecords: Int
}

/// Turns `FlowRecord`s into IPFIX messages (RFC 7011) for one observation domain.
///
/// The encoder owns the domain's sequence number (data records sent so far), so use one encoder per
/// transport session target. Send `templateMessages` before any data: once per TCP connection, and
/// again every refresh interval over UDP. Export time is passed in so tests control the clock.
public struct IPFIXEncoder: Sendable {
    public let observationDomainId: UInt32
    public let enterpriseId: UInt32
    public let maxMessageSize: Int
    /// Data records encoded so far, modulo 2^32; the next message's header carries it.
    public private(set) var sequenceNumber: UInt32 = 0
    /// Reused for every message so encoding allocates only the finished messages.
    private var scratch: [UInt8]

    /// `maxMessageSize` is clamped to what IPFIX allows (65535) and to room for the largest template set.
    public init(
        observationDomainId: UInt32 = 0, enterpriseId: UInt32 = IPFIX.defaultEnterpriseId,
        maxMessageSize: Int = IPFIX.defaultMaxMessageSize
    ) {
        self.observationDomainId = observationDomainId
        self.enterpriseId = enterpriseId
        let largestTemplate = IPFIXTemplate.allCases.map(Self.templateSetLength).max() ?? 0
        self.maxMessageSize = min(max(maxMessageSize, IPFIX.messageHeaderLength + largestTemplate), 65535)
        self.scratch = [UInt8](repeating: 0, count: self.maxMessageSize)
    }

    // MARK: Templates

    private static func templateSetLength(_ template: IPFIXTemplate) -> Int {
        template.elements.reduce(8) { $0 + ($1.owner == .iana ? 4 : 8) }
    }

    /// The four template sets, packed into as few messages as the size cap allows.
    public mutating func templateMessages(exportTime: UInt32) -> [[UInt8]] {
        let maxSize = maxMessageSize
        let pen = enterpriseId
        var messages: [[UInt8]] = []
        var pending = IPFIXTemplate.allCases[...]
        while !pending.isEmpty {
            let message = buildMessage(exportTime: exportTime) { writer in
                while let template = pending.first,
                    writer.offset + Self.templateSetLength(template) <= maxSize
                {
                    Self.writeTemplateSet(template, enterpriseId: pen, into: &writer)
                    pending.removeFirst()
                }
            }
            messages.append(message)
        }
        return messages
    }

    private static func writeTemplateSet(_ template: IPFIXTemplate, enterpriseId: UInt32, into writer: inout ByteWriter) {
        let setStart = writer.offset
        writer.u16(IPFIX.templateSetId)
        writer.u16(0)
        writer.u16(template.rawValue)
        writer.u16(UInt16(template.elements.count))
        for element in template.elements {
            if let pen = element.enterpriseId(ours: enterpriseId) {
                writer.u16(element.id | IPFIX.enterpriseBit)
                writer.u16(element.length)
                writer.u32(pen)
            } else {
                writer.u16(element.id)
                writer.u16(element.length)
            }
        }
        writer.patch16(UInt16(writer.offset - setStart), at: setStart + 2)
    }

    // MARK: Data

    /// Encodes `records` into data messages; each record advances the sequence number.
    public mutating func encode(_ records: some Sequence<FlowRecord>, exportTime: UInt32) -> IPFIXEncodedBatch {
        let maxSize = maxMessageSize
        var batch = IPFIXEncodedBatch(messages: [], encodedRecords: 0, skippedRecords: 0)
        var iterator = records.makeIterator()
        var carried: PreparedRecord? = nil
        var exhausted = false
        while !exhausted {
            let firstSequence = sequenceNumber
            var count: UInt32 = 0
            let message = buildMessage(exportTime: exportTime) { writer in
                var set: (template: IPFIXTemplate, start: Int)? = nil
                while true {
                    let next: PreparedRecord
                    if let pending = carried {
                        next = pending
                        carried = nil
                    } else if let record = iterator.next() {
                        guard let prepared = PreparedRecord(record) else {
                            batch.skippedRecords += 1
                            continue
                        }
                        next = prepared
                    } else {
                        exhausted = true
                        break
                    }
                    let newSet = set?.template != next.template
                    let needed = next.length + (newSet ? 4 : 0)
                    if writer.offset + needed > maxSize {
                        // Too big even for an empty message: no later message will take it either.
                        if count == 0 && set == nil {
                            batch.skippedRecords += 1
                            continue
                        }
                        carried = next
                        break
                    }
                    if newSet {
                        if let open = set { writer.patch16(UInt16(writer.offset - open.start), at: open.start + 2) }
                        set = (next.template, writer.offset)
                        writer.u16(next.template.rawValue)
                        writer.u16(0)
                    }
                    next.write(into: &writer)
                    count += 1
                }
                if let open = set { writer.patch16(UInt16(writer.offset - open.start), at: open.start + 2) }
            }
            if count > 0 {
                batch.messages.append(message)
                batch.encodedRecords += Int(count)
            }
            sequenceNumber = firstSequence &+ count
        }
        return batch
    }

    /// Writes the header around what `body` writes and returns a copy of the finished message.
    /// The header's sequence number is read before `body` runs: RFC 7011 wants the count of data
    /// records sent before this message.
    private mutating func buildMessage(exportTime: UInt32, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        let sequence = sequenceNumber
        let domain = observationDomainId
        return scratch.withUnsafeMutableBytes { buffer in
            var writer = ByteWriter(base: buffer.baseAddress!, offset: 0)
            writer.u16(IPFIX.version)
            writer.u16(0)
            writer.u32(exportTime)
            writer.u32(sequence)
            writer.u32(domain)
            body(&writer)
            writer.patch16(UInt16(writer.offset), at: 2)
            return Array(buffer[0..<writer.offset])
        }
    }
}

/// A record with its text fields turned into wire values and its encoded length known, so the
/// encoder can decide whether it fits before writing a byte.
struct PreparedRecord {
    let record: FlowRecord
    let source: IPAddress
    let destination: IPAddress
    let template: IPFIXTemplate
    let length: Int
    let interfacesLength: Int
    let rcode: UInt8
    let qtype: UInt16
    let latencyNanoseconds: UInt64

    init?(_ record: FlowRecord) {
        guard let source = IPAddress(record.srcAddr), let destination = IPAddress(record.dstAddr) else { return nil }
        let ipv6: Bool
        switch (source, destination) {
        case (.v4, .v4): ipv6 = false
        case (.v6, .v6): ipv6 = true
        default: return nil
        }
        self.record = record
        self.source = source
        self.destination = destination
        template = IPFIXTemplate(ipv6: ipv6, dns: record.isDNS)
        interfacesLength = record.interfaces.reduce(max(record.interfaces.count - 1, 0)) { $0 + $1.utf8.count }
        var length = template.minimumRecordLength + ByteWriter.variableLengthExtra(interfacesLength)
        length += ByteWriter.variableLengthExtra(record.ifDirections.count)
        length += ByteWriter.variableLengthExtra(record.nodeName.utf8.count)
        if record.isDNS {
            length += ByteWriter.variableLengthExtra(record.dnsName?.utf8.count ?? 0)
            rcode = record.dnsFlagsResponseCode.flatMap(DNSCodes.rcode) ?? DNSCodes.absentRcode
            qtype = record.dnsQType.flatMap(DNSCodes.qtype) ?? DNSCodes.absentQType
            latencyNanoseconds = DNSCodes.nanoseconds(record.dnsLatencyMs)
        } else {
            rcode = DNSCodes.absentRcode
            qtype = DNSCodes.absentQType
            latencyNanoseconds = DNSCodes.absentLatency
        }
        self.length = length
    }

    func write(into writer: inout ByteWriter) {
        for element in template.elements {
            switch element {
            case .sourceIPv4Address, .sourceIPv6Address: Self.write(source, into: &writer)
            case .destinationIPv4Address, .destinationIPv6Address: Self.write(destination, into: &writer)
            case .sourceTransportPort: writer.u16(record.srcPort)
            case .destinationTransportPort: writer.u16(record.dstPort)
            case .protocolIdentifier: writer.u8(record.proto)
            case .ethernetType: writer.u16(record.etype)
            case .octetDeltaCount: writer.u64(record.bytes)
            case .packetDeltaCount: writer.u64(record.packets)
            case .flowStartMilliseconds: writer.u64(UInt64(bitPattern: record.timeFlowStartMs))
            case .flowEndMilliseconds: writer.u64(UInt64(bitPattern: record.timeFlowEndMs))
            case .tcpControlBits: writer.u16(record.flags)
            case .flowDirection: writer.u8(record.ifDirections.first ?? 0)
            case .interfaceName:
                writer.variableLength(interfacesLength)
                for (index, name) in record.interfaces.enumerated() {
                    if index > 0 { writer.u8(UInt8(ascii: ",")) }
                    writer.bytes(name)
                }
            case .ifDirections:
                writer.variableLength(record.ifDirections.count)
                for direction in record.ifDirections { writer.u8(direction) }
            case .netNs: writer.u32(record.netNs)
            case .nodeName:
                writer.variableLength(record.nodeName.utf8.count)
                writer.bytes(record.nodeName)
            case .certDnsId, .dnsId: writer.u16(record.dnsId ?? 0)
            case .dnsFlags: writer.u16(record.dnsFlags ?? 0)
            case .dnsRcode: writer.u8(rcode)
            case .dnsLatencyNanoseconds: writer.u64(latencyNanoseconds)
            case .dnsQType: writer.u16(qtype)
            case .dnsErrno: writer.u8(record.dnsErrno ?? DNSCodes.absentErrno)
            case .dnsName:
                let name = record.dnsName ?? ""
                writer.variableLength(name.utf8.count)
                writer.bytes(name)
            }
        }
    }

    private static func write(_ address: IPAddress, into writer: inout ByteWriter) {
        switch address {
        case .v4(let value): writer.u32(value)
        case .v6(let high, let low):
            writer.u64(high)
            writer.u64(low)
        }
    }
}
