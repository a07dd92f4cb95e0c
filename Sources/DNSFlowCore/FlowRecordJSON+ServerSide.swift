/// The JSON of the server-side fields: `DnsCacheHit` a boolean, `DnsUpstream` and `DnsServes` arrays of
/// `{"Addr","Port","DnsId","LatencyMs"?,"Rcode"?}`, `DnsServerSource` a name.
enum DNSLinkedLookupField: Int, CaseIterable, NestedJSONKey {
    case addr, port, dnsId, latencyMs, rcode

    var quotedKey: StaticString {
        switch self {
        case .addr: #""Addr":"#
        case .port: #""Port":"#
        case .dnsId: #""DnsId":"#
        case .latencyMs: #""LatencyMs":"#
        case .rcode: #""Rcode":"#
        }
    }

    static let requiredMask: UInt64 = 1 << addr.rawValue | 1 << port.rawValue | 1 << dnsId.rawValue

    func read(from j: inout JSONReader, into lookup: inout DNSLinkedLookup) throws(FlowJSONError) {
        switch self {
        case .addr: lookup.addr = try j.address()
        case .port: lookup.port = try j.integer()
        case .dnsId: lookup.dnsId = try j.integer()
        case .latencyMs: lookup.latencyNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        case .rcode: lookup.rcode = try j.nullOr { (j) throws(FlowJSONError) in try j.rcode() }
        }
    }

    /// Keys, commas, braces, an address, three numbers, a latency and a code name at most.
    private static let fixedLength =
        allCases.reduce(3) { $0 + $1.quotedKey.utf8CodeUnitCount + 1 } + IPAddress.maxTextLength + 2 + 3 * 21 + 27 + 16

    /// The most bytes `JSONWriter.linkedLookups` takes for `lookups`, brackets included.
    static func maxLength(of lookups: borrowing [DNSLinkedLookup]) -> Int { 2 + lookups.count * fixedLength }
}

extension JSONWriter {
    mutating func field(_ field: FlowField, _ value: Bool?) {
        guard let value else { return }
        key(field)
        value ? literal("true") : literal("false")
    }

    /// Left out when empty.
    mutating func field(_ field: FlowField, _ lookups: borrowing [DNSLinkedLookup]) {
        guard !lookups.isEmpty else { return }
        key(field)
        linkedLookups(lookups)
    }

    mutating func linkedLookups(_ lookups: borrowing [DNSLinkedLookup]) {
        byte(UInt8(ascii: "["))
        for index in lookups.indices {
            if index > 0 { byte(UInt8(ascii: ",")) }
            byte(UInt8(ascii: "{"))
            literal(DNSLinkedLookupField.addr.quotedKey)
            address(lookups[index].addr)
            byte(UInt8(ascii: ","))
            literal(DNSLinkedLookupField.port.quotedKey)
            decimal(lookups[index].port)
            byte(UInt8(ascii: ","))
            literal(DNSLinkedLookupField.dnsId.quotedKey)
            decimal(lookups[index].dnsId)
            if let latency = lookups[index].latencyNs {
                byte(UInt8(ascii: ","))
                literal(DNSLinkedLookupField.latencyMs.quotedKey)
                milliseconds(latency)
            }
            if let rcode = lookups[index].rcode {
                byte(UInt8(ascii: ","))
                literal(DNSLinkedLookupField.rcode.quotedKey)
                string(rcode.name)
            }
            byte(UInt8(ascii: "}"))
        }
        byte(UInt8(ascii: "]"))
    }
}

extension JSONReader {
    mutating func boolean() throws(FlowJSONError) -> Bool {
        if try peek() == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    mutating func serverSource() throws(FlowJSONError) -> DNSServerSource {
        let start = index
        guard let source = DNSServerSource(name: try string()) else {
            throw FlowJSONError(offset: start, reason: "expected packets or dnstap")
        }
        return source
    }

    /// `DnsUpstream`'s or `DnsServes`'s value; an error names the element and its key.
    mutating func linkedLookups(_ field: FlowField) throws(FlowJSONError) -> [DNSLinkedLookup] {
        try objects(
            in: field, empty: DNSLinkedLookup(addr: .v4(0), port: 0, dnsId: 0),
            required: DNSLinkedLookupField.requiredMask
        ) { (key: DNSLinkedLookupField, j, lookup) throws(FlowJSONError) in try key.read(from: &j, into: &lookup) }
    }
}

extension FlowRecordJSON {
    /// Linked lookups as `DnsUpstream` or `DnsServes` holds them: the store keeps them so.
    public static func encode(linked lookups: [DNSLinkedLookup], into buffer: inout [UInt8]) {
        append(bound: DNSLinkedLookupField.maxLength(of: lookups), to: &buffer) { $0.linkedLookups(lookups) }
    }

    /// `encode(linked:into:)`'s text; an error names the element and its key.
    public static func decodeLinked(
        _ bytes: UnsafeRawBufferPointer, as field: FlowField
    ) throws(FlowJSONError) -> [DNSLinkedLookup] {
        try decodeWhole(bytes) { (j) throws(FlowJSONError) in try j.linkedLookups(field) }
    }
}
