/// The JSON of DNS health's fields: `DnsTries` elements, `DnsSearchFix`, and what they add to a record's length.
extension FlowRecordJSON {
    /// A resolution's tries as `DnsTries` holds them: the store keeps them so.
    public static func encode(tries: [DNSTry], into buffer: inout [UInt8]) {
        append(bound: DNSTryField.maxLength(of: tries), to: &buffer) { $0.tries(tries) }
    }

    /// `encode(tries:into:)`'s text.
    public static func decodeTries(_ bytes: UnsafeRawBufferPointer) throws(FlowJSONError) -> [DNSTry] {
        try decodeWhole(bytes) { (j) throws(FlowJSONError) in try j.tries() }
    }
}

/// The keys of a `DnsTries` element, in the order the writer writes them: a transaction's own keys.
enum DNSTryField: Int, CaseIterable {
    case name, qtype, rcode, latencyMs, id

    var quotedKey: StaticString {
        switch self {
        case .name: #""DnsName":"#
        case .qtype: #""DnsQType":"#
        case .rcode: #""DnsFlagsResponseCode":"#
        case .latencyMs: #""DnsLatencyMs":"#
        case .id: #""DnsId":"#
        }
    }

    var name: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: quotedKey.utf8Start + 1, count: quotedKey.utf8CodeUnitCount - 3)
    }

    var key: String { String(decoding: name, as: UTF8.self) }

    static let requiredMask: UInt64 = 1 << name.rawValue | 1 << id.rawValue

    func read(from j: inout JSONReader, into dnsTry: inout DNSTry) throws(FlowJSONError) {
        switch self {
        case .name: dnsTry.name = try j.string()
        case .qtype: dnsTry.qtype = try j.nullOr { (j) throws(FlowJSONError) in try j.qtype() }
        case .rcode: dnsTry.rcode = try j.nullOr { (j) throws(FlowJSONError) in try j.rcode() }
        case .latencyMs: dnsTry.latencyNs = try j.nullOr { (j) throws(FlowJSONError) in try j.nanoseconds() }
        case .id: dnsTry.id = try j.integer()
        }
    }

    /// Keys, commas, braces, the values' fixed parts: 16 for a code's name, 27 for a latency, 21 for the id.
    private static let fixedLength = allCases.reduce(3 + 2 + 16 + 16 + 27 + 21) {
        $0 + $1.quotedKey.utf8CodeUnitCount + 1
    }

    /// The most bytes `JSONWriter.tries` takes for `tries`, brackets included.
    static func maxLength(of tries: borrowing [DNSTry]) -> Int {
        tries.reduce(2) { $0 + fixedLength + escapedLength($1.name) }
    }
}

extension FlowField {
    /// What DNS health's fields of variable length add to their `fixedValueLength`.
    @inline(__always)
    static func healthValueLength(_ r: UnsafePointer<FlowRecord>) -> Int {
        var length = escapedLength(r.pointee.dnsBaseName) + escapedLength(r.pointee.dnsSearchFix?.line)
        length += escapedLength(r.pointee.dnsAlertReason)
        length += escapedLength(r.pointee.dnsDropReason)
        if !r.pointee.dnsTries.isEmpty { length += DNSTryField.maxLength(of: r.pointee.dnsTries) }
        return length
    }
}

extension JSONWriter {
    /// Left out when empty, as on every record but a resolution.
    mutating func field(_ field: FlowField, _ tries: borrowing [DNSTry]) {
        guard !tries.isEmpty else { return }
        key(field)
        self.tries(tries)
    }

    /// Each try's keys in `DNSTryField` order, an absent type, code or latency left out.
    mutating func tries(_ tries: borrowing [DNSTry]) {
        byte(UInt8(ascii: "["))
        for index in tries.indices {
            if index > 0 { byte(UInt8(ascii: ",")) }
            byte(UInt8(ascii: "{"))
            literal(DNSTryField.name.quotedKey)
            string(tries[index].name)
            if let qtype = tries[index].qtype {
                tryKey(.qtype)
                string(qtype.name)
            }
            if let rcode = tries[index].rcode {
                tryKey(.rcode)
                string(rcode.name)
            }
            if let latency = tries[index].latencyNs {
                tryKey(.latencyMs)
                milliseconds(latency)
            }
            tryKey(.id)
            decimal(tries[index].id)
            byte(UInt8(ascii: "}"))
        }
        byte(UInt8(ascii: "]"))
    }

    private mutating func tryKey(_ key: DNSTryField) {
        byte(UInt8(ascii: ","))
        literal(key.quotedKey)
    }
}

extension JSONReader {
    /// `DnsTries`'s value; a bad value names its try and key (`DnsTries[1].DnsId: expected a number`).
    mutating func tries() throws(FlowJSONError) -> [DNSTry] {
        var position = 0
        return try array { (j) throws(FlowJSONError) in
            defer { position += 1 }
            return try j.dnsTry(position)
        }
    }

    private mutating func dnsTry(_ position: Int) throws(FlowJSONError) -> DNSTry {
        var dnsTry = DNSTry(name: "", qtype: nil, rcode: nil, latencyNs: nil, id: 0)
        let start = index
        let seen = try members(named: { raw, _ in DNSTryField.allCases.first { $0.name.elementsEqual(raw) } }) {
            (j, field) throws(FlowJSONError) in
            do throws(FlowJSONError) {
                try field.read(from: &j, into: &dnsTry)
            } catch {
                throw FlowJSONError(offset: error.offset, reason: "DnsTries[\(position)].\(field.key): \(error.reason)")
            }
        }
        let missing = DNSTryField.requiredMask & ~seen
        if missing != 0, let first = DNSTryField(rawValue: missing.trailingZeroBitCount) {
            throw FlowJSONError(offset: start, reason: "DnsTries[\(position)] lacks \"\(first.key)\"")
        }
        return dnsTry
    }

    mutating func searchFix() throws(FlowJSONError) -> SearchPathFix {
        let start = index
        guard let fix = SearchPathFix(line: try string()) else {
            throw FlowJSONError(offset: start, reason: "expected one of DnsSearchFix's lines")
        }
        return fix
    }
}
