import DNSFlowCore

/// What became of one batch of records.
public struct IPFIXEncodedBatch: Sendable {
    /// Complete IPFIX messages, each at most `maxMessageSize` octets, in sequence-number order.
    /// Empty when the messages were handed to a closure instead.
    public var messages: [[UInt8]]
    /// Records written into messages.
    public var encodedRecords: Int
    /// Records left out: addresses of different families (source, destination, translated destination,
    /// a transaction's stages), or a record larger than a message.
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
        let pen = enterpriseId
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
                    next.write(records.baseAddress! + index, into: &writer, enterpriseId: pen)
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
/// decide whether it fits. The lengths of the variable-length fields that take a walk to measure
/// are kept for the write.
struct PreparedRecord {
    let template: IPFIXTemplate
    let length: Int
    let interfacesLength: Int
    /// A transaction's lists: octets after each list's length prefix, and the stages' sub-template.
    let stages: (template: IPFIXTemplate, length: Int)?
    let answersIPv4: Int
    let answersIPv6: Int
    let cnamesLength: Int

    /// A basicList's header: semantic, element id, element length, PEN (RFC 6313 section 4.5.1).
    private static let basicListHeader = 9
    /// A subTemplateList's header: semantic, template id (RFC 6313 section 4.5.2).
    private static let subTemplateListHeader = 3
    /// The octets of one record of a linked-lookup sub-template, all its fields fixed-length.
    private static func linkedLength(_ template: IPFIXTemplate) -> Int { template.minimumRecordLength }

    /// Takes a pointer so only the fields read are loaded, not a copy of the whole record.
    init?(_ record: UnsafePointer<FlowRecord>) {
        let ipv6: Bool
        switch (record.pointee.srcAddr, record.pointee.dstAddr) {
        case (.v4, .v4): ipv6 = false
        case (.v6, .v6): ipv6 = true
        default: return nil
        }
        template = IPFIXTemplate(ipv6: ipv6, recordType: record.pointee.recordType, dns: record.pointee.isDNS)
        interfacesLength = record.pointee.interfaces.reduce(max(record.pointee.interfaces.count - 1, 0)) {
            $0 + $1.utf8.count
        }
        var length = template.minimumRecordLength + ByteWriter.variableLengthExtra(interfacesLength)
        length += ByteWriter.variableLengthExtra(record.pointee.ifDirections.count)
        length += ByteWriter.variableLengthExtra(record.pointee.nodeName.utf8.count)
        length += ByteWriter.variableLengthExtra(record.pointee.netNsName?.utf8.count ?? 0)
        length += Self.stringsLength(record.pointee.srcK8S) + Self.stringsLength(record.pointee.dstK8S)
        if record.pointee.isDNS || record.pointee.isTransaction {
            length += ByteWriter.variableLengthExtra(record.pointee.dnsName?.utf8.count ?? 0)
        }
        guard record.pointee.isTransaction else {
            length += ByteWriter.variableLengthExtra(record.pointee.dstDnsName?.utf8.count ?? 0)
            (stages, answersIPv4, answersIPv6, cnamesLength) = (nil, 0, 0, 0)
            self.length = length
            return
        }
        if let xlat = record.pointee.xlatDstAddr, xlat.isIPv4 == ipv6 { return nil }
        // Every stage's server has one family, the sub-template's: a transaction's views are
        // joined on the ethernet type, so they share the client's.
        let stageIPv6 = !(record.pointee.dnsStages.first?.serverAddr.isIPv4 ?? !ipv6)
        var stagesLength = Self.subTemplateListHeader
        for stage in record.pointee.dnsStages {
            guard stage.serverAddr.isIPv4 != stageIPv6 else { return nil }
            stagesLength += IPFIXTemplate(stageIPv6: stageIPv6).minimumRecordLength
            stagesLength += ByteWriter.variableLengthExtra(stage.netNsName?.utf8.count ?? 0)
            stagesLength += ByteWriter.variableLengthExtra(stage.interface.utf8.count)
        }
        stages = (IPFIXTemplate(stageIPv6: stageIPv6), stagesLength)
        var (v4, v6) = (0, 0)
        var cnames = Self.basicListHeader
        if let answers = record.pointee.dnsAnswers {
            for address in answers.addresses {
                if address.isIPv4 { v4 += 1 } else { v6 += 1 }
            }
            for cname in answers.cnames { cnames += 1 + ByteWriter.variableLengthExtra(cname.utf8.count) }
        }
        (answersIPv4, answersIPv6, cnamesLength) = (v4, v6, cnames)
        length += ByteWriter.variableLengthExtra(stagesLength)
        length += ByteWriter.variableLengthExtra(Self.basicListHeader + 4 * v4)
        length += ByteWriter.variableLengthExtra(Self.basicListHeader + 16 * v6)
        length += ByteWriter.variableLengthExtra(cnames)
        length += ByteWriter.variableLengthExtra(
            Self.subTemplateListHeader + Self.linkedLength(.upstream) * record.pointee.dnsUpstream.count)
        length += ByteWriter.variableLengthExtra(
            Self.subTemplateListHeader + Self.linkedLength(.served) * record.pointee.dnsServes.count)
        length += ByteWriter.variableLengthExtra(record.pointee.xlatDstK8S?.name.utf8.count ?? 0)
        length += ByteWriter.variableLengthExtra(record.pointee.xlatDstK8S?.namespace.utf8.count ?? 0)
        if let requester = record.pointee.requester {
            length += ByteWriter.variableLengthExtra(requester.comm.utf8.count)
            length += ByteWriter.variableLengthExtra(requester.containerId?.utf8.count ?? 0)
            length += ByteWriter.variableLengthExtra(requester.podUid?.utf8.count ?? 0)
        }
        self.length = length
    }

    /// What an object's six strings add past their length octets.
    private static func stringsLength(_ object: KubernetesObject?) -> Int {
        guard let object else { return 0 }
        return [
            object.name, object.namespace, object.kind.name, object.ownerName ?? "", object.ownerType ?? "",
            object.hostName ?? "",
        ].reduce(0) { $0 + ByteWriter.variableLengthExtra($1.utf8.count) }
    }

    /// Writes `record`, the one this was prepared from.
    func write(_ record: UnsafePointer<FlowRecord>, into writer: inout ByteWriter, enterpriseId: UInt32) {
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
            case .nodeName: writer.string(record.pointee.nodeName)
            case .recordType: writer.u8(record.pointee.recordType.rawValue)
            case .netNsName: writer.string(record.pointee.netNsName ?? "")
            case .dstDnsName: writer.string(record.pointee.dstDnsName ?? "")
            case .certDnsId, .dnsId: writer.u16(record.pointee.dnsId ?? 0)
            case .dnsFlags: writer.u16(record.pointee.dnsFlags ?? 0)
            case .dnsRcode: writer.u8(record.pointee.dnsFlagsResponseCode?.rawValue ?? DNSCodes.absentRcode)
            case .dnsLatencyNanoseconds: writer.u64(record.pointee.dnsLatencyNs ?? DNSCodes.absentLatency)
            case .dnsQType: writer.u16(record.pointee.dnsQType?.rawValue ?? DNSCodes.absentQType)
            case .dnsErrno: writer.u8(record.pointee.dnsErrno ?? DNSCodes.absentErrno)
            case .dnsName: writer.string(record.pointee.dnsName ?? "")
            case .postNATDestinationIPv4Address, .postNATDestinationIPv6Address:
                // `init` checked that a translated address is the template's family.
                Self.write(
                    record.pointee.xlatDstAddr ?? (template == .ipv4Transaction ? .v4(0) : .v6(high: 0, low: 0)),
                    into: &writer)
            case .postNAPTDestinationTransportPort: writer.u16(record.pointee.xlatDstPort ?? DNSCodes.absentPort)
            case .dnsStages: writeStages(record, into: &writer)
            case .dnsRetransmits: writer.u16(record.pointee.dnsRetransmits ?? DNSCodes.absentRetransmits)
            case .dnsAnswersIPv4, .dnsAnswersIPv6:
                let ipv6 = element == .dnsAnswersIPv6
                writer.variableLength(Self.basicListHeader + (ipv6 ? 16 * answersIPv6 : 4 * answersIPv4))
                Self.writeBasicListHeader(element, enterpriseId: enterpriseId, into: &writer)
                for address in record.pointee.dnsAnswers?.addresses ?? [] where address.isIPv4 != ipv6 {
                    Self.write(address, into: &writer)
                }
            case .dnsCnames:
                writer.variableLength(cnamesLength)
                Self.writeBasicListHeader(element, enterpriseId: enterpriseId, into: &writer)
                for cname in record.pointee.dnsAnswers?.cnames ?? [] { writer.string(cname) }
            case .dnsTtl: writer.u32(record.pointee.dnsAnswers?.ttl ?? DNSCodes.absentTtl)
            case .pid: writer.u32(record.pointee.requester?.pid ?? 0)
            case .comm: writer.string(record.pointee.requester?.comm ?? "")
            case .cgroupId: writer.u64(record.pointee.requester?.cgroupId ?? 0)
            case .containerId: writer.string(record.pointee.requester?.containerId ?? "")
            case .podUid: writer.string(record.pointee.requester?.podUid ?? "")
            case .dnsCacheHit:
                writer.u8(record.pointee.dnsCacheHit.map { $0 ? 1 : 0 } ?? DNSCodes.absentCacheHit)
            case .dnsServerSource: writer.u8(record.pointee.dnsServerSource?.rawValue ?? DNSCodes.absentServerSource)
            case .dnsUpstream: Self.writeLinked(record.pointee.dnsUpstream, as: .upstream, into: &writer)
            case .dnsServes: Self.writeLinked(record.pointee.dnsServes, as: .served, into: &writer)
            case .srcK8SName, .srcK8SNamespace, .srcK8SType, .srcK8SOwnerName, .srcK8SOwnerType, .srcK8SHostName:
                writer.string(Self.text(of: element, in: record.pointee.srcK8S))
            case .dstK8SName, .dstK8SNamespace, .dstK8SType, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName:
                writer.string(Self.text(of: element, in: record.pointee.dstK8S))
            case .xlatDstK8SName: writer.string(record.pointee.xlatDstK8S?.name ?? "")
            case .xlatDstK8SNamespace: writer.string(record.pointee.xlatDstK8S?.namespace ?? "")
            case .dnsAnswerIPv4Address, .dnsAnswerIPv6Address, .dnsCname:
                preconditionFailure("\(element) is only in a basicList, never in a template")
            }
        }
    }

    private func writeStages(_ record: UnsafePointer<FlowRecord>, into writer: inout ByteWriter) {
        guard let stages else { preconditionFailure("a transaction template without its stages' layout") }
        writer.variableLength(stages.length)
        writer.u8(IPFIX.orderedSemantic)
        writer.u16(stages.template.rawValue)
        // In the stage sub-templates' order: server address, netNs, netNsName, interfaceName,
        // server port, latency.
        for stage in record.pointee.dnsStages {
            Self.write(stage.serverAddr, into: &writer)
            writer.u32(stage.netNs)
            writer.string(stage.netNsName ?? "")
            writer.string(stage.interface)
            writer.u16(stage.serverPort)
            writer.u64(stage.latencyNs ?? DNSCodes.absentLatency)
        }
    }

    /// An object's field as the element names it; empty when absent.
    private static func text(of element: IPFIXElement, in object: KubernetesObject?) -> String {
        guard let object else { return "" }
        return switch element {
        case .srcK8SName, .dstK8SName: object.name
        case .srcK8SNamespace, .dstK8SNamespace: object.namespace
        case .srcK8SType, .dstK8SType: object.kind.name
        case .srcK8SOwnerName, .dstK8SOwnerName: object.ownerName ?? ""
        case .srcK8SOwnerType, .dstK8SOwnerType: object.ownerType ?? ""
        default: object.hostName ?? ""
        }
    }

    /// `DnsUpstream` or `DnsServes` as a subTemplateList of `template`'s records, in the record's order.
    private static func writeLinked(
        _ lookups: [DNSLinkedLookup], as template: IPFIXTemplate, into writer: inout ByteWriter
    ) {
        writer.variableLength(subTemplateListHeader + linkedLength(template) * lookups.count)
        writer.u8(IPFIX.orderedSemantic)
        writer.u16(template.rawValue)
        for lookup in lookups {
            write(lookup.addr.mappedToIPv6, into: &writer)
            writer.u16(lookup.port)
            writer.u16(lookup.dnsId)
            guard template == .upstream else { continue }
            writer.u64(lookup.latencyNs ?? DNSCodes.absentLatency)
            writer.u8(lookup.rcode?.rawValue ?? DNSCodes.absentRcode)
        }
    }

    private static func writeBasicListHeader(
        _ list: IPFIXElement, enterpriseId: UInt32, into writer: inout ByteWriter
    ) {
        let element = list.listElement!
        writer.u8(IPFIX.orderedSemantic)
        writer.u16(element.id | IPFIX.enterpriseBit)
        writer.u16(element.length)
        writer.u32(enterpriseId)
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
