/// Writes `FlowRecord`s as JSON without Foundation: the exporters' hot path, where `JSONEncoder`
/// managed 5-15k records/s against a node's 80k.
///
/// The output decodes with `JSONDecoder` into the same records as the synthesized `Codable` output:
/// the same keys, in `CodingKeys` order, and nil optionals left out.
public enum FlowRecordJSON {
    /// Appends `records` as one JSON array.
    public static func encode(_ records: some Collection<FlowRecord>, into buffer: inout [UInt8]) {
        // Reading records in place: a copy of each record retains and releases its strings and arrays.
        if records.withContiguousStorageIfAvailable({ append($0, asArray: true, to: &buffer) }) == nil {
            Array(records).withUnsafeBufferPointer { append($0, asArray: true, to: &buffer) }
        }
    }

    /// Appends `record` as one JSON object and a newline: a line of JSON Lines.
    public static func encodeLine(_ record: FlowRecord, into buffer: inout [UInt8]) {
        withUnsafePointer(to: record) { append(UnsafeBufferPointer(start: $0, count: 1), asArray: false, to: &buffer) }
    }

    /// The most bytes `write(_:to:)` can take for `records`.
    public static func maxLength(of records: UnsafeBufferPointer<FlowRecord>) -> Int {
        records.reduce(2) { $0 + maxLength(of: $1) + 1 }
    }

    /// Writes `records` as one JSON array into `destination`, which holds at least
    /// `maxLength(of: records)` bytes; returns the bytes written.
    public static func write(_ records: UnsafeBufferPointer<FlowRecord>, to destination: UnsafeMutableRawBufferPointer) -> Int {
        write(records, opening: true, closing: true, to: destination)
    }

    /// Writes `records` as a piece of one JSON array: `[` first if `opening`, a comma before each
    /// record that does not open the array, `]` last if `closing`. The pieces of an array, written
    /// one after the other, are the array: an HTTP body goes out in pieces, never whole in memory.
    public static func write(
        _ records: UnsafeBufferPointer<FlowRecord>, opening: Bool, closing: Bool, to destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        assert(destination.count >= maxLength(of: records), "JSON destination too small")
        var writer = JSONWriter(destination.baseAddress!.assumingMemoryBound(to: UInt8.self))
        if opening { writer.byte(UInt8(ascii: "[")) }
        for index in records.indices {
            if index > 0 || !opening { writer.byte(UInt8(ascii: ",")) }
            writer.object(records.baseAddress! + index)
        }
        if closing { writer.byte(UInt8(ascii: "]")) }
        return writer.count
    }

    private static func append(_ records: UnsafeBufferPointer<FlowRecord>, asArray: Bool, to buffer: inout [UInt8]) {
        let bound = maxLength(of: records)
        let write = { (destination: UnsafeMutableRawBufferPointer) -> Int in
            guard !asArray else { return Self.write(records, to: destination) }
            var writer = JSONWriter(destination.baseAddress!.assumingMemoryBound(to: UInt8.self))
            writer.object(records.baseAddress!)
            writer.byte(UInt8(ascii: "\n"))
            return writer.count
        }
        guard !buffer.isEmpty else {
            buffer = [UInt8](unsafeUninitializedCapacity: bound) { $1 = write(UnsafeMutableRawBufferPointer($0)) }
            return
        }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: bound))
        let written = buffer.withUnsafeMutableBytes { write(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        buffer.removeLast(bound - written)
    }

    /// Every key, comma and bracket (under 300 bytes), 21 characters for each of the 13 numbers, 24
    /// for the latency, and each string quoted, its bytes escaped as `\u00XX` at worst.
    private static func maxLength(of record: FlowRecord) -> Int {
        var strings = record.srcAddr.utf8.count + record.dstAddr.utf8.count + record.nodeName.utf8.count
        strings += (record.dnsFlagsResponseCode?.utf8.count ?? 0) + (record.dnsName?.utf8.count ?? 0)
        strings += record.dnsQType?.utf8.count ?? 0
        for name in record.interfaces { strings += name.utf8.count + 3 }
        return 700 + 6 * strings + 4 * record.ifDirections.count
    }
}

/// Writes JSON through a pointer into memory sized beforehand (`FlowRecordJSON.maxLength`): no
/// capacity check or uniqueness check per byte, as `[UInt8].append` makes.
private struct JSONWriter {
    private let start: UnsafeMutablePointer<UInt8>
    private var cursor: UnsafeMutablePointer<UInt8>

    init(_ start: UnsafeMutablePointer<UInt8>) {
        self.start = start
        self.cursor = start
    }

    var count: Int { cursor - start }

    mutating func byte(_ value: UInt8) {
        cursor.pointee = value
        cursor += 1
    }

    mutating func bytes(_ source: UnsafeBufferPointer<UInt8>) {
        guard let base = source.baseAddress else { return }
        cursor.update(from: base, count: source.count)
        cursor += source.count
    }

    mutating func literal(_ text: StaticString) {
        cursor.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        cursor += text.utf8CodeUnitCount
    }

    mutating func decimal(_ value: UInt64) {
        // Most values here are below 100,000 (ports, counts, ids): compare before dividing.
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20 && value >= bound {
            digits += 1
            bound = bound &* 10
        }
        var rest = value
        var place = digits
        repeat {
            place -= 1
            let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 10)
            cursor[place] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
            rest = quotient
        } while place > 0
        cursor += digits
    }

    mutating func decimal(_ value: some FixedWidthInteger) {
        decimal(UInt64(value))
    }

    /// A JSON string per RFC 8259: quote, backslash and control characters escaped, all other
    /// UTF-8 copied as is (a Swift string is always valid UTF-8).
    mutating func string(_ text: borrowing String) {
        byte(UInt8(ascii: "\""))
        // Native strings are contiguous UTF-8; others (bridged, never made here) are copied once.
        let copied = text.utf8.withContiguousStorageIfAvailable { escaped($0) }
        if copied == nil {
            var contiguous = copy text
            contiguous.withUTF8 { escaped($0) }
        }
        byte(UInt8(ascii: "\""))
    }

    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        // Runs of bytes that need no escape are copied in one go.
        var runStart = 0
        for index in utf8.indices {
            let byte = utf8[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            runStart = index + 1
            if byte < 0x20 {
                literal("\\u00")
                self.byte(hexDigit(byte >> 4))
                self.byte(hexDigit(byte & 0xF))
            } else {
                self.byte(UInt8(ascii: "\\"))
                self.byte(byte)
            }
        }
        bytes(UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }

    /// Through a pointer: `records[index]` as an argument was copied whole (a retain and a release
    /// of each string and array), since nothing tells the compiler the memory stays unchanged.
    mutating func object(_ record: UnsafePointer<FlowRecord>) {
        // The required fields come first, so every key after the first is led by a comma.
        literal("{\"SrcAddr\":")
        string(record.pointee.srcAddr)
        literal(",\"DstAddr\":")
        string(record.pointee.dstAddr)
        literal(",\"SrcPort\":")
        decimal(record.pointee.srcPort)
        literal(",\"DstPort\":")
        decimal(record.pointee.dstPort)
        literal(",\"Proto\":")
        decimal(record.pointee.proto)
        literal(",\"Etype\":")
        decimal(record.pointee.etype)
        literal(",\"Bytes\":")
        decimal(record.pointee.bytes)
        literal(",\"Packets\":")
        decimal(record.pointee.packets)
        literal(",\"TimeFlowStartMs\":")
        signedDecimal(record.pointee.timeFlowStartMs)
        literal(",\"TimeFlowEndMs\":")
        signedDecimal(record.pointee.timeFlowEndMs)
        literal(",\"Interfaces\":[")
        for (index, name) in record.pointee.interfaces.enumerated() {
            if index > 0 { byte(UInt8(ascii: ",")) }
            string(name)
        }
        literal("],\"IfDirections\":[")
        for (index, direction) in record.pointee.ifDirections.enumerated() {
            if index > 0 { byte(UInt8(ascii: ",")) }
            decimal(direction)
        }
        literal("],\"Flags\":")
        decimal(record.pointee.flags)
        literal(",\"NetNs\":")
        decimal(record.pointee.netNs)
        literal(",\"NodeName\":")
        string(record.pointee.nodeName)
        if let dnsId = record.pointee.dnsId {
            literal(",\"DnsId\":")
            decimal(dnsId)
        }
        if let dnsFlags = record.pointee.dnsFlags {
            literal(",\"DnsFlags\":")
            decimal(dnsFlags)
        }
        if let rcode = record.pointee.dnsFlagsResponseCode {
            literal(",\"DnsFlagsResponseCode\":")
            string(rcode)
        }
        // JSON has no infinity or NaN (JSONEncoder throws on them); such a latency is left out, as if nil.
        if let latency = record.pointee.dnsLatencyMs, latency.isFinite {
            literal(",\"DnsLatencyMs\":")
            milliseconds(latency)
        }
        if let name = record.pointee.dnsName {
            literal(",\"DnsName\":")
            string(name)
        }
        if let qtype = record.pointee.dnsQType {
            literal(",\"DnsQType\":")
            string(qtype)
        }
        if let errno = record.pointee.dnsErrno {
            literal(",\"DnsErrno\":")
            decimal(errno)
        }
        byte(UInt8(ascii: "}"))
    }

    /// The shortest text that reads back as the same Double (at most 24 characters), as
    /// `description` writes it; its forms ("0.213", "40.0", "1e-05", "1e+16", "-0.0") are all JSON
    /// numbers. The assembler's latencies are whole microseconds, written here with integers:
    /// `description`'s conversion and its String were 3% of the agent's CPU.
    private mutating func milliseconds(_ value: Double) {
        let micros = (value * 1_000).rounded()
        // Below 1e12 ms (31 years) a Double's spacing is under 0.0005: each multiple of 0.001 has
        // a Double of its own, whose shortest text is that multiple's decimals.
        guard value.sign == .plus, value < 1e12, micros / 1_000 == value else {
            var text = value.description
            text.withUTF8 { bytes($0) }
            return
        }
        let (whole, fraction) = UInt64(micros).quotientAndRemainder(dividingBy: 1_000)
        decimal(whole)
        byte(UInt8(ascii: "."))
        guard fraction > 0 else { return byte(UInt8(ascii: "0")) }
        // Up to three digits, no trailing zero: 0.210 is "0.21", 0.005 is "0.005".
        var (rest, place) = (fraction, UInt64(100))
        while rest > 0 {
            byte(UInt8(ascii: "0") + UInt8(rest / place))
            rest %= place
            place /= 10
        }
    }

    private mutating func signedDecimal(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        decimal(value.magnitude)
    }
}

private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
