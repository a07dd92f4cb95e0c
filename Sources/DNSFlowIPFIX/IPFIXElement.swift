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
}

/// One information element of our templates: who defines it, its number and its wire length.
enum IPFIXElement: CaseIterable, Sendable {
    case sourceIPv4Address, destinationIPv4Address, sourceIPv6Address, destinationIPv6Address
    case sourceTransportPort, destinationTransportPort, protocolIdentifier, ethernetType
    case octetDeltaCount, packetDeltaCount, flowStartMilliseconds, flowEndMilliseconds
    case tcpControlBits, flowDirection, interfaceName
    case ifDirections, netNs, nodeName
    case certDnsId
    case dnsId, dnsFlags, dnsRcode, dnsLatencyNanoseconds, dnsQType, dnsErrno, dnsName

    enum Owner { case iana, cert, dnsflow }

    var owner: Owner {
        switch self {
        case .certDnsId: .cert
        case .ifDirections, .netNs, .nodeName, .dnsId, .dnsFlags, .dnsRcode, .dnsLatencyNanoseconds, .dnsQType,
            .dnsErrno, .dnsName:
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
        case .ethernetType: 256
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
        }
    }

    /// Octets on the wire; `IPFIX.variableLength` for strings and octet arrays.
    var length: UInt16 {
        switch self {
        case .protocolIdentifier, .flowDirection, .dnsRcode, .dnsErrno: 1
        case .sourceTransportPort, .destinationTransportPort, .ethernetType, .tcpControlBits, .certDnsId, .dnsId,
            .dnsFlags, .dnsQType:
            2
        case .sourceIPv4Address, .destinationIPv4Address, .netNs: 4
        case .octetDeltaCount, .packetDeltaCount, .flowStartMilliseconds, .flowEndMilliseconds,
            .dnsLatencyNanoseconds:
            8
        case .sourceIPv6Address, .destinationIPv6Address: 16
        case .interfaceName, .ifDirections, .nodeName, .dnsName: IPFIX.variableLength
        }
    }

    var isVariableLength: Bool { length == IPFIX.variableLength }

    func enterpriseId(ours: UInt32) -> UInt32? {
        switch owner {
        case .iana: nil
        case .cert: IPFIX.certEnterpriseId
        case .dnsflow: ours
        }
    }
}

/// The four templates: address family × DNS or not, so no record carries empty fields.
enum IPFIXTemplate: UInt16, CaseIterable, Sendable {
    case ipv4 = 256
    case ipv6 = 257
    case ipv4DNS = 258
    case ipv6DNS = 259

    init(ipv6: Bool, dns: Bool) {
        switch (ipv6, dns) {
        case (false, false): self = .ipv4
        case (true, false): self = .ipv6
        case (false, true): self = .ipv4DNS
        case (true, true): self = .ipv6DNS
        }
    }

    private static let common: [IPFIXElement] = [
        .sourceTransportPort, .destinationTransportPort, .protocolIdentifier, .ethernetType, .octetDeltaCount,
        .packetDeltaCount, .flowStartMilliseconds, .flowEndMilliseconds, .tcpControlBits, .flowDirection,
        .interfaceName, .ifDirections, .netNs, .nodeName,
    ]
    private static let dns: [IPFIXElement] = [
        .certDnsId, .dnsId, .dnsFlags, .dnsRcode, .dnsLatencyNanoseconds, .dnsQType, .dnsErrno, .dnsName,
    ]
    private static let v4: [IPFIXElement] = [.sourceIPv4Address, .destinationIPv4Address]
    private static let v6: [IPFIXElement] = [.sourceIPv6Address, .destinationIPv6Address]
    private static let fieldsByTemplate: [[IPFIXElement]] = [
        v4 + common, v6 + common, v4 + common + dns, v6 + common + dns,
    ]

    /// Fields in wire order; the encoder writes and the decoder reads in exactly this order.
    var elements: [IPFIXElement] { Self.fieldsByTemplate[Int(rawValue - 256)] }

    private static let minimumLengths = fieldsByTemplate.map { fields in
        fields.reduce(0) { $0 + ($1.isVariableLength ? 1 : Int($1.length)) }
    }

    /// Octets of the fixed-length fields plus one length octet per variable-length field.
    var minimumRecordLength: Int { Self.minimumLengths[Int(rawValue - 256)] }
}
