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
    /// Records left out, each with why: a list whose contents do not parse, or a record type we do
    /// not know. The record's own length was still known, so the records after it decoded.
    public var skippedRecords: [IPFIXError]
}

/// Decodes IPFIX messages into `FlowRecord`s, remembering templates per exporter and observation
/// domain as RFC 7011 section 8 asks. Fields it does not know are skipped, so a template with extra
/// elements still decodes; fields a template lacks keep zero or empty values.
///
/// RFC 6313 lists: a subTemplateList is read by the template it names: one with a DNS id is a
/// linked-lookup list (`DnsServes` when it holds source addresses, else `DnsUpstream`), any other
/// the transaction's stages; a basicList by the element it holds (our answer addresses and
/// CNAMEs). Lists of anything else are skipped like unknown fields.
public struct IPFIXDecoder: Sendable {
    /// The PEN our enterprise elements are registered under; must match the exporter's.
    public let enterpriseId: UInt32
    private var templates: [TemplateScope: [UInt16: Template]] = [:]

    private struct TemplateScope: Hashable {
        var exporter: String
        var observationDomainId: UInt32
    }

    private struct TemplateField {
        enum Kind {
            case element(IPFIXElement)
            case basicList
            case subTemplateList
            /// An element we do not know.
            case skipped
        }
        var kind: Kind
        var length: UInt16
    }

    private struct Template {
        var fields: [TemplateField]
        /// Octets of the fixed-length fields plus one length octet per variable-length field.
        var minimumLength: Int

        init(_ fields: [TemplateField]) {
            self.fields = fields
            minimumLength = fields.reduce(0) { $0 + ($1.length == IPFIX.variableLength ? 1 : Int($1.length)) }
        }
    }

    /// Where a record's lists and sub-template ids are looked up, and named in errors.
    private struct RecordContext {
        var templates: [UInt16: Template]
        var exporter: String
        var templateId: UInt16
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
        var decoded = IPFIXDecodedMessage(header: header, records: [], templateIds: [], skippedRecords: [])
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
                guard let template = templates[scope]?[setId] else {
                    throw IPFIXError(
                        .unknownTemplate,
                        "data set for template \(setId) from \(exporter) domain \(header.observationDomainId) "
                            + "arrived before its template; it is dropped until the exporter resends templates")
                }
                // A template of zero-length fields would decode records of no octets forever (found
                // by fuzzing): such a set is refused, not looped over.
                guard template.minimumLength > 0 else {
                    throw IPFIXError(.badTemplate, "template \(setId) from \(exporter) describes records of no octets")
                }
                let context = RecordContext(templates: templates[scope] ?? [:], exporter: exporter, templateId: setId)
                while set.remaining >= template.minimumLength {
                    switch try readRecord(&set, fields: template.fields, context: context) {
                    case .success(let record): decoded.records.append(record)
                    case .failure(let error): decoded.skippedRecords.append(error)
                    }
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
                fields.append(TemplateField(kind: kind(id: rawId & ~IPFIX.enterpriseBit, pen: pen), length: length))
            }
            templates[scope, default: [:]][id] = Template(fields)
        }
        return ids
    }

    private func kind(id: UInt16, pen: UInt32) -> TemplateField.Kind {
        switch (id, pen) {
        case (IPFIX.basicListId, 0): .basicList
        case (IPFIX.subTemplateListId, 0): .subTemplateList
        default: element(id: id, pen: pen).map { .element($0) } ?? .skipped
        }
    }

    /// The element with this id and PEN; the list elements are not among them (see `kind`).
    private func element(id: UInt16, pen: UInt32) -> IPFIXElement? {
        IPFIXElement.allCases.first {
            $0.id == id && ($0.enterpriseId(ours: enterpriseId) ?? 0) == pen
                && !($0.owner == .iana && ($0.id == IPFIX.basicListId || $0.id == IPFIX.subTemplateListId))
        }
    }

    /// The parts of a record that several fields fill, put together once all are read.
    private struct Parts {
        var addresses: [IPAddress] = []
        var cnames: [String] = []
        var ttl: UInt32?
        var pid: UInt32 = 0
        var comm = ""
        var cgroupId: UInt64 = 0
        var containerId: String?
        var podUid: String?
        /// The Kubernetes strings, by element; absent ones empty.
        var kubernetes: [IPFIXElement: String] = [:]

        /// The object `name`…`hostName` describe; nil when all are empty. Throws on a type we do not know.
        func object(
            _ name: IPFIXElement, _ namespace: IPFIXElement, type: IPFIXElement? = nil, owner: IPFIXElement? = nil,
            ownerType: IPFIXElement? = nil, host: IPFIXElement? = nil
        ) throws(IPFIXError) -> KubernetesObject? {
            let text = { (element: IPFIXElement?) -> String? in
                element.flatMap { kubernetes[$0] }.flatMap { DNSCodes.present($0) }
            }
            guard [name, namespace, type, owner, ownerType, host].contains(where: { text($0) != nil }) else {
                return nil
            }
            var object = KubernetesObject.unnamed
            object.name = text(name) ?? ""
            object.namespace = text(namespace) ?? ""
            if let kind = text(type) {
                guard let known = KubernetesObject.Kind(name: kind) else {
                    throw IPFIXError(.badRecord, "\(type!) \"\(kind)\" is not Pod, Service or Node")
                }
                object.kind = known
            }
            (object.ownerName, object.ownerType, object.hostName) = (text(owner), text(ownerType), text(host))
            return object
        }

        var answers: DNSAnswers? {
            addresses.isEmpty && cnames.isEmpty && ttl == nil
                ? nil : DNSAnswers(addresses: addresses, cnames: cnames, ttl: ttl)
        }

        var requester: Requester? {
            pid == 0 && comm.isEmpty && cgroupId == 0 && containerId == nil && podUid == nil
                ? nil
                : Requester(pid: pid, comm: comm, cgroupId: cgroupId, containerId: containerId, podUid: podUid)
        }
    }

    /// Throws when the set cannot be read further (a length past its end); a record whose fields
    /// all had their lengths but did not make sense is a failure, and the next record follows it.
    private func readRecord(
        _ set: inout ByteReader, fields: [TemplateField], context: RecordContext
    ) throws -> Result<FlowRecord, IPFIXError> {
        var record = FlowRecord.empty
        var parts = Parts()
        var failure: IPFIXError?
        for (index, field) in fields.enumerated() {
            let length =
                field.length == IPFIX.variableLength ? try set.variableLength("variable length") : Int(field.length)
            let element: IPFIXElement
            switch field.kind {
            case .skipped:
                _ = try set.take(length, "skipped field")
                continue
            case .basicList, .subTemplateList:
                var list = try set.sub(length, "template \(context.templateId) field \(index), a list")
                do {
                    if case .basicList = field.kind {
                        try readBasicList(&list, into: &parts)
                    } else {
                        try readSubTemplateList(&list, context: context, into: &record)
                    }
                } catch let error as IPFIXError {
                    failure =
                        failure
                        ?? IPFIXError(
                            .badList,
                            "template \(context.templateId) field \(index) from \(context.exporter): \(error.message)")
                }
                continue
            case .element(let known): element = known
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
                let text = try set.string(length, "\(element)")
                record.interfaces =
                    text.isEmpty ? [] : text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            case .ifDirections: record.ifDirections = Array(try set.take(length, "\(element)"))
            case .netNs: record.netNs = UInt32(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .nodeName: record.nodeName = try set.string(length, "\(element)")
            case .recordType:
                let raw = UInt8(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
                if let type = RecordType(rawValue: raw) {
                    record.recordType = type
                } else {
                    failure =
                        failure
                        ?? IPFIXError(
                            .badRecord,
                            "template \(context.templateId) from \(context.exporter): recordType \(raw) is not one "
                                + "this collector knows (0 flow, 1 dnsTransaction, 2 dnsResolution, 3 dnsAlert); is the agent newer?"
                        )
                }
            case .netNsName: record.netNsName = DNSCodes.present(try set.string(length, "\(element)"))
            case .dstDnsName: record.dstDnsName = DNSCodes.present(try set.string(length, "\(element)"))
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
            case .dnsName: record.dnsName = try set.string(length, "\(element)")
            case .postNATDestinationIPv4Address, .postNATDestinationIPv6Address:
                let address = try Self.address(&set, length, element)
                record.xlatDstAddr = address == .v4(0) || address == .v6(high: 0, low: 0) ? nil : address
            case .postNAPTDestinationTransportPort:
                record.xlatDstPort = DNSCodes.present(
                    UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)")), unless: DNSCodes.absentPort)
            case .dnsRetransmits:
                record.dnsRetransmits = DNSCodes.present(
                    UInt16(truncatingIfNeeded: try set.unsigned(length, "\(element)")),
                    unless: DNSCodes.absentRetransmits)
            case .dnsTtl:
                parts.ttl = DNSCodes.present(
                    UInt32(truncatingIfNeeded: try set.unsigned(length, "\(element)")), unless: DNSCodes.absentTtl)
            case .pid: parts.pid = UInt32(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
            case .comm: parts.comm = try set.string(length, "\(element)")
            case .cgroupId: parts.cgroupId = try set.unsigned(length, "\(element)")
            case .containerId: parts.containerId = DNSCodes.present(try set.string(length, "\(element)"))
            case .podUid: parts.podUid = DNSCodes.present(try set.string(length, "\(element)"))
            case .dnsAnswerIPv4Address, .dnsAnswerIPv6Address:
                parts.addresses.append(try Self.address(&set, length, element))
            case .dnsCname: parts.cnames.append(try set.string(length, "\(element)"))
            case .dnsCacheHit:
                let hit = UInt8(truncatingIfNeeded: try set.unsigned(length, "\(element)"))
                record.dnsCacheHit = hit <= 1 ? hit == 1 : nil
            case .dnsServerSource:
                record.dnsServerSource = DNSServerSource(
                    rawValue: UInt8(truncatingIfNeeded: try set.unsigned(length, "\(element)")))
            case .srcK8SName, .srcK8SNamespace, .srcK8SType, .srcK8SOwnerName, .srcK8SOwnerType, .srcK8SHostName,
                .dstK8SName, .dstK8SNamespace, .dstK8SType, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName,
                .xlatDstK8SName, .xlatDstK8SNamespace:
                parts.kubernetes[element] = try set.string(length, "\(element)")
            case .dnsStages, .dnsAnswersIPv4, .dnsAnswersIPv6, .dnsCnames, .dnsUpstream, .dnsServes:
                _ = try set.take(length, "\(element)")  // never looked up: `kind` makes lists `.basicList`
            }
        }
        do {
            record.srcK8S = try parts.object(
                .srcK8SName, .srcK8SNamespace, type: .srcK8SType, owner: .srcK8SOwnerName,
                ownerType: .srcK8SOwnerType, host: .srcK8SHostName)
            record.dstK8S = try parts.object(
                .dstK8SName, .dstK8SNamespace, type: .dstK8SType, owner: .dstK8SOwnerName,
                ownerType: .dstK8SOwnerType, host: .dstK8SHostName)
            record.xlatDstK8S = try parts.object(.xlatDstK8SName, .xlatDstK8SNamespace)
        } catch {
            failure =
                failure
                ?? IPFIXError(.badRecord, "template \(context.templateId) from \(context.exporter): \(error.message)")
        }
        if let failure { return .failure(failure) }
        record.dnsAnswers = parts.answers
        record.requester = parts.requester
        return .success(record)
    }

    /// An RFC 6313 basicList (section 4.5.1): semantic, the element's id, length and PEN, then the
    /// values, each with its own length prefix when the element's length is variable.
    private func readBasicList(_ list: inout ByteReader, into parts: inout Parts) throws {
        _ = try list.unsigned(1, "basicList semantic")
        let rawId = try list.u16("basicList element id")
        let itemLength = try list.u16("basicList element length")
        let pen = rawId & IPFIX.enterpriseBit != 0 ? try list.u32("basicList element PEN") : 0
        guard let element = element(id: rawId & ~IPFIX.enterpriseBit, pen: pen),
            element == .dnsAnswerIPv4Address || element == .dnsAnswerIPv6Address || element == .dnsCname
        else {
            _ = try list.take(list.remaining, "basicList of an element we do not read")
            return
        }
        guard itemLength > 0, element == .dnsCname || itemLength == element.length else {
            throw IPFIXError(
                .badList,
                "basicList of \(element) says its values have \(itemLength) octets"
                    + (element == .dnsCname ? "" : "; the element has \(element.length)"))
        }
        var count = 0
        while list.remaining > 0 {
            let length =
                itemLength == IPFIX.variableLength
                ? try list.variableLength("\(element) \(count) length") : Int(itemLength)
            switch element {
            case .dnsCname: parts.cnames.append(try list.string(length, "\(element) \(count) of the basicList"))
            default: parts.addresses.append(try Self.address(&list, length, element))
            }
            count += 1
        }
    }

    /// An RFC 6313 subTemplateList (section 4.5.2): semantic, template id, then records of that
    /// template until the list ends; the template's fields tell which of the record's lists it is.
    private func readSubTemplateList(
        _ list: inout ByteReader, context: RecordContext, into record: inout FlowRecord
    )
        throws
    {
        _ = try list.unsigned(1, "subTemplateList semantic")
        let id = try list.u16("subTemplateList template id")
        guard let template = context.templates[id] else {
            throw IPFIXError(
                .badList, "its subTemplateList names template \(id), which \(context.exporter) never defined")
        }
        guard template.minimumLength > 0 else {
            throw IPFIXError(.badList, "its subTemplateList names template \(id), which describes records of no octets")
        }
        let has = { (element: IPFIXElement) in
            template.fields.contains { if case .element(element) = $0.kind { true } else { false } }
        }
        if has(.dnsId) {
            let lookups = try readLinked(&list, template: template, id: id)
            if has(.sourceIPv6Address) || has(.sourceIPv4Address) {
                record.dnsServes = lookups
            } else {
                record.dnsUpstream = lookups
            }
        } else {
            record.dnsStages = try readStages(&list, template: template, id: id)
        }
    }

    /// `DnsUpstream` or `DnsServes`: one linked lookup per record of the sub-template.
    private func readLinked(_ list: inout ByteReader, template: Template, id: UInt16) throws -> [DNSLinkedLookup] {
        var lookups: [DNSLinkedLookup] = []
        while list.remaining > 0 {
            var lookup = DNSLinkedLookup(addr: .v4(0), port: 0, dnsId: 0)
            for field in template.fields {
                let what = "linked lookup \(lookups.count) of template \(id)"
                let length =
                    field.length == IPFIX.variableLength ? try list.variableLength(what) : Int(field.length)
                switch field.kind {
                case .element(let element)
                where [.sourceIPv4Address, .sourceIPv6Address, .destinationIPv4Address, .destinationIPv6Address]
                    .contains(element):
                    lookup.addr = try Self.address(&list, length, element).unmappedFromIPv6
                case .element(.sourceTransportPort), .element(.destinationTransportPort):
                    lookup.port = UInt16(truncatingIfNeeded: try list.unsigned(length, what))
                case .element(.dnsId): lookup.dnsId = UInt16(truncatingIfNeeded: try list.unsigned(length, what))
                case .element(.dnsLatencyNanoseconds):
                    lookup.latencyNs = DNSCodes.present(try list.unsigned(length, what), unless: DNSCodes.absentLatency)
                case .element(.dnsRcode):
                    let code = UInt8(truncatingIfNeeded: try list.unsigned(length, what))
                    lookup.rcode = DNSCodes.present(code, unless: DNSCodes.absentRcode).map {
                        DNSResponseCode(rawValue: $0)
                    }
                default: _ = try list.take(length, what)
                }
            }
            lookups.append(lookup)
        }
        return lookups
    }

    /// The transaction's stages, one per record of the sub-template.
    private func readStages(_ list: inout ByteReader, template: Template, id: UInt16) throws -> [DNSStage] {
        var stages: [DNSStage] = []
        while list.remaining > 0 {
            var stage = DNSStage(netNs: 0, interface: "", serverAddr: .v4(0), serverPort: 0, latencyNs: nil)
            for field in template.fields {
                let what = "stage \(stages.count) of template \(id)"
                let length =
                    field.length == IPFIX.variableLength ? try list.variableLength(what) : Int(field.length)
                switch field.kind {
                case .element(.netNs): stage.netNs = UInt32(truncatingIfNeeded: try list.unsigned(length, what))
                case .element(.netNsName): stage.netNsName = DNSCodes.present(try list.string(length, what))
                case .element(.interfaceName): stage.interface = try list.string(length, what)
                case .element(let element)
                where element == .destinationIPv4Address || element == .destinationIPv6Address:
                    stage.serverAddr = try Self.address(&list, length, element)
                case .element(.destinationTransportPort):
                    stage.serverPort = UInt16(truncatingIfNeeded: try list.unsigned(length, what))
                case .element(.dnsLatencyNanoseconds):
                    stage.latencyNs = DNSCodes.present(try list.unsigned(length, what), unless: DNSCodes.absentLatency)
                default: _ = try list.take(length, what)  // lists inside a stage included: no recursion
                }
            }
            stages.append(stage)
        }
        return stages
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
