import DNSFlowCore

/// What became of one batch of records.
public struct IPFIXEncodedBatch: Sendable {
    /// Complete IPFIX messages, each at most `maxMessageSize` octets, in sequence-number order.
    /// Empty when the messages were handed to a closure instead.
    public var messages: [[UInt8]]
    /// Records written into messages.
    public var encodedRecords: Int
    /// Records left out: source and destination of different families, or a record larger than a message.
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
            buildMessage(exportTime: exportTime, emit: { messages.append(Array($0)) }) { writer in
                while let template = pending.first,
                    writer.offset + Self.templateSetLength(template) <= maxSize
                {
                    Self.writeTemplateSet(template, enterpriseId: pen, into: &writer)
                    pending.removeFirst()
                }
            }
        }
        return messages
    }

    private static func writeTemplateSet(_ template: IPFIXTemplate, enterpriseId: UInt32, into writer: inout ByteWriter)
    {
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
        var messages: [[UInt8]] = []
        var batch = encode(records, exportTime: exportTime) { messages.append(Array($0)) }
        batch.messages = messages
        return batch
    }

    /// Encodes `records` and hands each finished message to `emit` without copying it; the bytes
    /// are only valid during the call. The fast path for transports that copy into their own buffers.
    public mutating func encode(
        _ records: some Sequence<FlowRecord>, exportTime: UInt32, emit: (UnsafeRawBufferPointer) -> Void
    ) -> IPFIXEncodedBatch {
        // Reading records in place: a copy of each record retains and releases its strings and arrays.
        if let batch = records.withContiguousStorageIfAvailable({ encode($0, exportTime: exportTime, emit: emit) }) {
            return batch
        }
        return Array(records).withUnsafeBufferPointer { encode($0, exportTime: exportTime, emit: emit) }
    }

    private mutating func encode(
        _ records: UnsafeBufferPointer<FlowRecord>, exportTime: UInt32, emit: (UnsafeRawBufferPointer) -> Void
    ) -> IPFIXEncodedBatch {
        let maxSize = maxMessageSize
        var batch = IPFIXEncodedBatch(messages: [], encodedRecords: 0, skippedRecords: 0)
        var index = 0
        // records[index] already prepared: it did not fit the previous message.
        var carried: PreparedRecord? = nil
        while index < records.count {
            let firstSequence = sequenceNumber
            var count: UInt32 = 0
            buildMessage(exportTime: exportTime, emit: { if count > 0 { emit($0) } }) { writer in
                var set: (template: IPFIXTemplate, start: Int)? = nil
                while index < records.count {
                    guard let next = carried ?? PreparedRecord(records.baseAddress! + index) else {
                        batch.skippedRecords += 1
                        index += 1
                        continue
                    }
                    carried = nil
                    let newSet = set?.template != next.template
                    if writer.offset + next.length + (newSet ? 4 : 0) > maxSize {
                        // Too big even for an empty message: no later message will take it either.
                        if count == 0 {
                            batch.skippedRecords += 1
                            index += 1
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
                    next.write(records.baseAddress! + index, into: &writer)
                    index += 1
                    count += 1
                }
                if let open = set { writer.patch16(UInt16(writer.offset - open.start), at: open.start + 2) }
            }
            batch.encodedRecords += Int(count)
            sequenceNumber = firstSequence &+ count
        }
        return batch
    }

    /// Writes the header around what `body` writes and passes the finished message to `emit`.
    /// The header's sequence number is read before `body` runs: RFC 7011 wants the count of data
    /// records sent before this message.
    private mutating func buildMessage(
        exportTime: UInt32, emit: (UnsafeRawBufferPointer) -> Void, _ body: (inout ByteWriter) -> Void
    ) {
        let sequence = sequenceNumber
        let domain = observationDomainId
        scratch.withUnsafeMutableBytes { buffer in
            var writer = ByteWriter(base: buffer.baseAddress!, offset: 0)
            writer.u16(IPFIX.version)
            writer.u16(0)
            writer.u32(exportTime)
            writer.u32(sequence)
            writer.u32(domain)
            body(&writer)
            writer.patch16(UInt16(writer.offset), at: 2)
            emit(UnsafeRawBufferPointer(rebasing: buffer[0..<writer.offset]))
        }
    }
}

/// A record's template and encoded length, known before a byte is written, so the encoder can
/// decide whether it fits.
struct PreparedRecord {
    let template: IPFIXTemplate
    let length: Int
    let interfacesLength: Int

    /// Takes a pointer so only the fields read are loaded, not a copy of the whole record.
    init?(_ record: UnsafePointer<FlowRecord>) {
        let ipv6: Bool
        switch (record.pointee.srcAddr, record.pointee.dstAddr) {
        case (.v4, .v4): ipv6 = false
        case (.v6, .v6): ipv6 = true
        default: return nil
        }
        template = IPFIXTemplate(ipv6: ipv6, dns: record.pointee.isDNS)
        interfacesLength = record.pointee.interfaces.reduce(max(record.pointee.interfaces.count - 1, 0)) {
            $0 + $1.utf8.count
        }
        var length = template.minimumRecordLength + ByteWriter.variableLengthExtra(interfacesLength)
        length += ByteWriter.variableLengthExtra(record.pointee.ifDirections.count)
        length += ByteWriter.variableLengthExtra(record.pointee.nodeName.utf8.count)
        if record.pointee.isDNS {
            length += ByteWriter.variableLengthExtra(record.pointee.dnsName?.utf8.count ?? 0)
        }
        self.length = length
    }

    /// Writes `record`, the one this was prepared from.
    func write(_ record: UnsafePointer<FlowRecord>, into writer: inout ByteWriter) {
        for element in template.elements {
            switch element {
            case .sourceIPv4Address, .sourceIPv6Address: Self.write(record.pointee.srcAddr, into: &writer)
            case .destinationIPv4Address, .destinationIPv6Address: Self.write(record.pointee.dstAddr, into: &writer)
            case .sourceTransportPort: writer.u16(record.pointee.srcPort)
            case .destinationTransportPort: writer.u16(record.pointee.dstPort)
            case .protocolIdentifier: writer.u8(record.pointee.proto)
            case .ethernetType: writer.u16(record.pointee.etype)
            case .octetDeltaCount: writer.u64(record.pointee.bytes)
            case .packetDeltaCount: writer.u64(record.pointee.packets)
            case .flowStartMilliseconds: writer.u64(UInt64(bitPattern: record.pointee.timeFlowStartMs))
            case .flowEndMilliseconds: writer.u64(UInt64(bitPattern: record.pointee.timeFlowEndMs))
            case .tcpControlBits: writer.u16(record.pointee.flags)
            case .flowDirection: writer.u8(record.pointee.ifDirections.first ?? 0)
            case .interfaceName:
                writer.variableLength(interfacesLength)
                for (index, name) in record.pointee.interfaces.enumerated() {
                    if index > 0 { writer.u8(UInt8(ascii: ",")) }
                    writer.bytes(name)
                }
            case .ifDirections:
                writer.variableLength(record.pointee.ifDirections.count)
                for direction in record.pointee.ifDirections { writer.u8(direction) }
            case .netNs: writer.u32(record.pointee.netNs)
            case .nodeName:
                writer.variableLength(record.pointee.nodeName.utf8.count)
                writer.bytes(record.pointee.nodeName)
            case .certDnsId, .dnsId: writer.u16(record.pointee.dnsId ?? 0)
            case .dnsFlags: writer.u16(record.pointee.dnsFlags ?? 0)
            case .dnsRcode: writer.u8(record.pointee.dnsFlagsResponseCode?.rawValue ?? DNSCodes.absentRcode)
            case .dnsLatencyNanoseconds: writer.u64(record.pointee.dnsLatencyNs ?? DNSCodes.absentLatency)
            case .dnsQType: writer.u16(record.pointee.dnsQType?.rawValue ?? DNSCodes.absentQType)
            case .dnsErrno: writer.u8(record.pointee.dnsErrno ?? DNSCodes.absentErrno)
            case .dnsName:
                let name = record.pointee.dnsName ?? ""
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
