import DNSFlowCore

/// Numbers that identify dnsflow's IPFIX output.
public enum IPFIX {
    public static let version: UInt16 = 10
    public static let messageHeaderLength = 16
    /// RFC 5612's private enterprise number for documentation; pick your own PEN in production.
    public static let defaultEnterpriseId: UInt32 = 32473
    /// CERT's PEN, whose dnsID (226) tshark and SiLK already know.
    public static let certEnterpriseId: UInt32 = 6871
    /// Largest message for a UDP exporter that should not fragment on a 1500-byte path.
    public static let defaultMaxMessageSize = 1400
    static let templateSetId: UInt16 = 2
    static let optionsTemplateSetId: UInt16 = 3
    static let variableLength: UInt16 = 0xFFFF
    static let enterpriseBit: UInt16 = 0x8000
    /// RFC 6313's list elements and the list semantic we send: the order is the record's.
    static let basicListId: UInt16 = 291
    static let subTemplateListId: UInt16 = 292
    static let orderedSemantic: UInt8 = 0x04
}

/// One information element of our templates: who defines it, its number and its wire length.
enum IPFIXElement: CaseIterable, Sendable {
    case sourceIPv4Address, destinationIPv4Address, sourceIPv6Address, destinationIPv6Address
    case sourceTransportPort, destinationTransportPort, protocolIdentifier, ethernetType
    case octetDeltaCount, packetDeltaCount, flowStartMilliseconds, flowEndMilliseconds
    case tcpControlBits, flowDirection, interfaceName
    case ifDirections, netNs, nodeName, recordType, netNsName, dstDnsName
    case certDnsId
    case dnsId, dnsFlags, dnsRcode, dnsLatencyNanoseconds, dnsQType, dnsErrno, dnsName
    case postNATDestinationIPv4Address, postNATDestinationIPv6Address, postNAPTDestinationTransportPort
    case dnsRetransmits, dnsTtl
    case pid, comm, cgroupId, containerId, podUid
    /// RFC 6313 lists. Several are the same IANA element (291 or 292): a decoder tells them apart
    /// by what they hold (the basicList's element, the subTemplateList's template), not by position.
    case dnsStages, dnsAnswersIPv4, dnsAnswersIPv6, dnsCnames
    /// Only inside the basicLists.
    case dnsAnswerIPv4Address, dnsAnswerIPv6Address, dnsCname
    /// The server side: cache hit or miss, where it came from, and two more subTemplateLists.
    case dnsCacheHit, dnsServerSource, dnsUpstream, dnsServes
    /// `SrcK8S_*`, `DstK8S_*`, `XlatDstK8S_*`.
    case srcK8SName, srcK8SNamespace, srcK8SType, srcK8SOwnerName, srcK8SOwnerType, srcK8SHostName
    case dstK8SName, dstK8SNamespace, dstK8SType, dstK8SOwnerName, dstK8SOwnerType, dstK8SHostName
    case xlatDstK8SName, xlatDstK8SNamespace

    enum Owner { case iana, cert, dnsflow }

    var owner: Owner {
        switch self {
        case .certDnsId: .cert
        case .ifDirections, .netNs, .nodeName, .recordType, .netNsName, .dstDnsName, .dnsId, .dnsFlags, .dnsRcode,
            .dnsLatencyNanoseconds, .dnsQType, .dnsErrno, .dnsName, .dnsRetransmits, .dnsTtl, .pid, .comm, .cgroupId,
            .containerId, .podUid, .dnsAnswerIPv4Address, .dnsAnswerIPv6Address, .dnsCname, .dnsCacheHit,
            .dnsServerSource, .srcK8SName, .srcK8SNamespace, .srcK8SType, .srcK8SOwnerName, .srcK8SOwnerType,
            .srcK8SHostName, .dstK8SName, .dstK8SNamespace, .dstK8SType, .dstK8SOwnerName, .dstK8SOwnerType,
            .dstK8SHostName, .xlatDstK8SName, .xlatDstK8SNamespace:
            .dnsflow
        default: .iana
        }
    }

    /// The element id: IANA's registry, CERT's registry, or ours (documented in docs/IPFIX.md).
    var id: UInt16 {
        switch self {
        case .octetDeltaCount: 1
        case .packetDeltaCount: 2
        case .protocolIdentifier: 4
        case .tcpControlBits: 6
        case .sourceTransportPort: 7
        case .sourceIPv4Address: 8
        case .destinationTransportPort: 11
        case .destinationIPv4Address: 12
        case .sourceIPv6Address: 27
        case .destinationIPv6Address: 28
        case .flowDirection: 61
        case .interfaceName: 82
        case .flowStartMilliseconds: 152
        case .flowEndMilliseconds: 153
        case .postNATDestinationIPv4Address: 226
        case .postNAPTDestinationTransportPort: 228
        case .ethernetType: 256
        case .postNATDestinationIPv6Address: 282
        case .dnsAnswersIPv4, .dnsAnswersIPv6, .dnsCnames: 291
        case .dnsStages, .dnsUpstream, .dnsServes: 292
        case .certDnsId: 226
        case .dnsId: 1
        case .dnsFlags: 2
        case .dnsRcode: 3
        case .dnsLatencyNanoseconds: 4
        case .dnsQType: 5
        case .dnsErrno: 6
        case .dnsName: 7
        case .netNs: 8
        case .nodeName: 9
        case .ifDirections: 10
        case .recordType: 11
        case .netNsName: 12
        case .dnsRetransmits: 13
        case .dnsTtl: 14
        case .dnsAnswerIPv4Address: 15
        case .dnsAnswerIPv6Address: 16
        case .dnsCname: 17
        case .pid: 18
        case .comm: 19
        case .cgroupId: 20
        case .containerId: 21
        case .podUid: 22
        case .dstDnsName: 23
        case .dnsCacheHit: 24
        case .dnsServerSource: 25
        case .srcK8SName: 26
        case .srcK8SNamespace: 27
        case .srcK8SType: 28
        case .srcK8SOwnerName: 29
        case .srcK8SOwnerType: 30
        case .srcK8SHostName: 31
        case .dstK8SName: 32
        case .dstK8SNamespace: 33
        case .dstK8SType: 34
        case .dstK8SOwnerName: 35
        case .dstK8SOwnerType: 36
        case .dstK8SHostName: 37
        case .xlatDstK8SName: 38
        case .xlatDstK8SNamespace: 39
        }
    }

    /// Octets on the wire; `IPFIX.variableLength` for strings, octet arrays and lists.
    var length: UInt16 {
        switch self {
        case .protocolIdentifier, .flowDirection, .dnsRcode, .dnsErrno, .recordType, .dnsCacheHit, .dnsServerSource: 1
        case .sourceTransportPort, .destinationTransportPort, .ethernetType, .tcpControlBits, .certDnsId, .dnsId,
            .dnsFlags, .dnsQType, .postNAPTDestinationTransportPort, .dnsRetransmits:
            2
        case .sourceIPv4Address, .destinationIPv4Address, .netNs, .postNATDestinationIPv4Address, .dnsTtl, .pid,
            .dnsAnswerIPv4Address:
            4
        case .octetDeltaCount, .packetDeltaCount, .flowStartMilliseconds, .flowEndMilliseconds,
            .dnsLatencyNanoseconds, .cgroupId:
            8
        case .sourceIPv6Address, .destinationIPv6Address, .postNATDestinationIPv6Address, .dnsAnswerIPv6Address: 16
        case .interfaceName, .ifDirections, .nodeName, .netNsName, .dstDnsName, .dnsName, .comm, .containerId,
            .podUid, .dnsCname, .dnsStages, .dnsAnswersIPv4, .dnsAnswersIPv6, .dnsCnames, .dnsUpstream, .dnsServes,
            .srcK8SName, .srcK8SNamespace, .srcK8SType, .srcK8SOwnerName, .srcK8SOwnerType, .srcK8SHostName,
            .dstK8SName, .dstK8SNamespace, .dstK8SType, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName,
            .xlatDstK8SName, .xlatDstK8SNamespace:
            IPFIX.variableLength
        }
    }

    var isVariableLength: Bool { length == IPFIX.variableLength }

    /// What a basicList element holds; nil for every other element.
    var listElement: IPFIXElement? {
        switch self {
        case .dnsAnswersIPv4: .dnsAnswerIPv4Address
        case .dnsAnswersIPv6: .dnsAnswerIPv6Address
        case .dnsCnames: .dnsCname
        default: nil
        }
    }

    func enterpriseId(ours: UInt32) -> UInt32? {
        switch owner {
        case .iana: nil
        case .cert: IPFIX.certEnterpriseId
        case .dnsflow: ours
        }
    }
}

/// The templates: flows by address family × DNS fields or not, the DNS transaction by family, and
/// the transaction's stage sub-templates (RFC 6313), so no record carries fields of another kind.
enum IPFIXTemplate: UInt16, CaseIterable, Sendable {
    case ipv4 = 256
    case ipv6 = 257
    case ipv4DNS = 258
    case ipv6DNS = 259
    case ipv4Transaction = 260
    case ipv6Transaction = 261
    /// Sub-templates of the transaction's `dnsStages` list, one per server address family.
    case ipv4Stage = 262
    case ipv6Stage = 263
    /// Sub-templates of `dnsUpstream` and `dnsServes`: every address as IPv6, an IPv4 one mapped
    /// (`::ffff:a.b.c.d`), since a resolver's upstreams need not be its clients' family.
    case upstream = 264
    case served = 265

    /// The template of a data record.
    init(ipv6: Bool, recordType: RecordType, dns: Bool) {
        switch (recordType, ipv6, dns) {
        case (.dnsTransaction, false, _): self = .ipv4Transaction
        case (.dnsTransaction, true, _): self = .ipv6Transaction
        case (.flow, false, false): self = .ipv4
        case (.flow, true, false): self = .ipv6
        case (.flow, false, true): self = .ipv4DNS
        case (.flow, true, true): self = .ipv6DNS
        // DNS health's records carry a flow's DNS fields in IPFIX; their own fields are JSON only.
        case (.dnsResolution, let ipv6, let dns), (.dnsAlert, let ipv6, let dns):
            self.init(ipv6: ipv6, recordType: .flow, dns: dns)
        }
    }

    init(stageIPv6 ipv6: Bool) { self = ipv6 ? .ipv6Stage : .ipv4Stage }

    private static let common: [IPFIXElement] = [
        .sourceTransportPort, .destinationTransportPort, .protocolIdentifier, .ethernetType, .octetDeltaCount,
        .packetDeltaCount, .flowStartMilliseconds, .flowEndMilliseconds, .tcpControlBits, .flowDirection,
        .interfaceName, .ifDirections, .netNs, .nodeName, .recordType, .netNsName,
    ]
    private static let dns: [IPFIXElement] = [
        .certDnsId, .dnsId, .dnsFlags, .dnsRcode, .dnsLatencyNanoseconds, .dnsQType, .dnsErrno, .dnsName,
    ]
    private static let transaction: [IPFIXElement] = [
        .postNAPTDestinationTransportPort, .dnsStages, .dnsRetransmits, .dnsAnswersIPv4, .dnsAnswersIPv6, .dnsCnames,
        .dnsTtl, .pid, .comm, .cgroupId, .containerId, .podUid,
    ]
    private static let v4: [IPFIXElement] = [.sourceIPv4Address, .destinationIPv4Address]
    private static let v6: [IPFIXElement] = [.sourceIPv6Address, .destinationIPv6Address]
    private static let stage: [IPFIXElement] = [
        .netNs, .netNsName, .interfaceName, .destinationTransportPort, .dnsLatencyNanoseconds,
    ]
    private static let serverSide: [IPFIXElement] = [.dnsCacheHit, .dnsServerSource, .dnsUpstream, .dnsServes]
    private static let kubernetes: [IPFIXElement] = [
        .srcK8SName, .srcK8SNamespace, .srcK8SType, .srcK8SOwnerName, .srcK8SOwnerType, .srcK8SHostName,
        .dstK8SName, .dstK8SNamespace, .dstK8SType, .dstK8SOwnerName, .dstK8SOwnerType, .dstK8SHostName,
    ]
    private static let fieldsByTemplate: [[IPFIXElement]] = [
        v4 + common + [.dstDnsName] + kubernetes, v6 + common + [.dstDnsName] + kubernetes,
        v4 + common + dns + [.dstDnsName] + kubernetes, v6 + common + dns + [.dstDnsName] + kubernetes,
        v4 + common + dns + [.postNATDestinationIPv4Address] + transaction + serverSide + kubernetes
            + [.xlatDstK8SName, .xlatDstK8SNamespace],
        v6 + common + dns + [.postNATDestinationIPv6Address] + transaction + serverSide + kubernetes
            + [.xlatDstK8SName, .xlatDstK8SNamespace],
        [.destinationIPv4Address] + stage, [.destinationIPv6Address] + stage,
        [.destinationIPv6Address, .destinationTransportPort, .dnsId, .dnsLatencyNanoseconds, .dnsRcode],
        [.sourceIPv6Address, .sourceTransportPort, .dnsId],
    ]

    /// Fields in wire order; the encoder writes and the decoder reads in exactly this order.
    var elements: [IPFIXElement] { Self.fieldsByTemplate[Int(rawValue - 256)] }

    private static let minimumLengths = fieldsByTemplate.map { fields in
        fields.reduce(0) { $0 + ($1.isVariableLength ? 1 : Int($1.length)) }
    }

    /// Octets of the fixed-length fields plus one length octet per variable-length field.
    var minimumRecordLength: Int { Self.minimumLengths[Int(rawValue - 256)] }
}

extension IPAddress {
    /// As the linked-lookup sub-templates carry every address: IPv4 mapped into IPv6 (RFC 4291 2.5.5.2).
    var mappedToIPv6: IPAddress {
        guard case .v4(let value) = self else { return self }
        return .v6(high: 0, low: 0xFFFF_0000_0000 | UInt64(value))
    }

    /// An IPv4-mapped address back to IPv4; any other unchanged.
    var unmappedFromIPv6: IPAddress {
        guard case .v6(0, let low) = self, low >> 32 == 0xFFFF else { return self }
        return .v4(UInt32(truncatingIfNeeded: low))
    }
}
