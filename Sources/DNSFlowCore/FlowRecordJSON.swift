/// The JSON form of `FlowRecord`s, written and read without Foundation (the exporters' and the
/// ingest's hot paths, where `JSONEncoder` and `JSONDecoder` fell far behind a node's rate).
///
/// Keys come in `FlowField` order, absent optionals left out; addresses, the rcode and the qtype
/// as text, the latency as milliseconds.
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
        records.indices.reduce(2) { $0 + maxLength(of: records.baseAddress! + $1) + 1 }
    }

    /// Writes `records` as one JSON array into `destination`, which holds at least
    /// `maxLength(of: records)` bytes; returns the bytes written.
    public static func write(
        _ records: UnsafeBufferPointer<FlowRecord>, to destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        write(records, opening: true, closing: true, to: destination)
    }

    /// Writes `records` as a piece of one JSON array: `[` first if `opening`, a comma before each
    /// record that does not open the array, `]` last if `closing`. The pieces of an array, written
    /// one after the other, are the array: an HTTP body goes out in pieces, never whole in memory.
    public static func write(
        _ records: UnsafeBufferPointer<FlowRecord>, opening: Bool, closing: Bool,
        to destination: UnsafeMutableRawBufferPointer
    ) -> Int {
        assert(destination.count >= maxLength(of: records), "JSON destination too small")
        var writer = JSONWriter(destination.baseAddress!.assumingMemoryBound(to: UInt8.self))
        writer.records(records, opening: opening, closing: closing)
        return writer.count
    }

    private static func append(_ records: UnsafeBufferPointer<FlowRecord>, asArray: Bool, to buffer: inout [UInt8]) {
        append(bound: maxLength(of: records), to: &buffer) { writer in
            guard !asArray else { return writer.records(records, opening: true, closing: true) }
            writer.object(records.baseAddress!)
            writer.byte(UInt8(ascii: "\n"))
        }
    }

    /// A transaction's stages as `DnsStages` holds them, `[{"NetNs":…},…]`: the store keeps them so.
    public static func encode(stages: [DNSStage], into buffer: inout [UInt8]) {
        append(bound: DNSStageField.maxLength(of: stages), to: &buffer) { $0.stages(stages) }
    }

    /// Addresses as `DnsAnswers` holds them, `["10.0.0.1","fd00::1"]`.
    public static func encode(addresses: [IPAddress], into buffer: inout [UInt8]) {
        append(bound: 2 + addresses.count * (IPAddress.maxTextLength + 3), to: &buffer) { $0.addresses(addresses) }
    }

    /// Appends what `write` writes, at most `bound` bytes, to `buffer`.
    static func append(bound: Int, to buffer: inout [UInt8], _ write: (inout JSONWriter) -> Void) {
        func written(_ destination: UnsafeMutableRawBufferPointer) -> Int {
            var writer = JSONWriter(destination.baseAddress!.assumingMemoryBound(to: UInt8.self))
            write(&writer)
            return writer.count
        }
        guard !buffer.isEmpty else {
            buffer = [UInt8](unsafeUninitializedCapacity: bound) { $1 = written(UnsafeMutableRawBufferPointer($0)) }
            return
        }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: bound))
        let count = buffer.withUnsafeMutableBytes { written(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
        buffer.removeLast(bound - count)
    }

    /// Every field's key, quotes, colon and comma, and its value's fixed part; braces and a newline.
    private static let fixedLength = FlowField.allCases.reduce(3) {
        $0 + $1.quotedKey.utf8CodeUnitCount + 1 + $1.fixedValueLength
    }

    private static func maxLength(of record: UnsafePointer<FlowRecord>) -> Int {
        fixedLength + FlowField.variableValueLength(record)
    }

    /// Appends the API's page of records, `{"flows":[...],"total":n}`.
    public static func encodePage(_ records: some Collection<FlowRecord>, total: Int, into buffer: inout [UInt8]) {
        buffer += Array("{\"\(pageRecordsKey)\":".utf8)
        encode(records, into: &buffer)
        buffer += Array(",\"\(pageTotalKey)\":\(total)}".utf8)
    }

    static let pageRecordsKey = "flows"
    static let pageTotalKey = "total"
    /// The records' key in `GET /api/v1/lookups`.
    static let lookupsKey = "lookups"
}

/// Writes JSON through a pointer into memory sized beforehand (`FlowRecordJSON.maxLength`): no
/// capacity check or uniqueness check per byte, as `[UInt8].append` makes.
struct JSONWriter {
    private let start: UnsafeMutablePointer<UInt8>
    private var cursor: UnsafeMutablePointer<UInt8>
    /// Whether the object being written has a field already, which the next follows after a comma.
    private var hasField = false

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

    /// `records` as a piece of one JSON array, as `FlowRecordJSON.write(_:opening:closing:to:)`.
    mutating func records(_ records: UnsafeBufferPointer<FlowRecord>, opening: Bool, closing: Bool) {
        if opening { byte(UInt8(ascii: "[")) }
        for index in records.indices {
            if index > 0 || !opening { byte(UInt8(ascii: ",")) }
            object(records.baseAddress! + index)
        }
        if closing { byte(UInt8(ascii: "]")) }
    }

    /// Through a pointer: `records[index]` as an argument was copied whole (a retain and a release
    /// of each string and array), since nothing tells the compiler the memory stays unchanged.
    mutating func object(_ record: UnsafePointer<FlowRecord>) {
        byte(UInt8(ascii: "{"))
        hasField = false
        FlowField.writeAll(record, to: &self)
        byte(UInt8(ascii: "}"))
    }

    mutating func key(_ field: FlowField) {
        if hasField { byte(UInt8(ascii: ",")) }
        hasField = true
        literal(field.quotedKey)
    }

    mutating func field(_ field: FlowField, _ value: (some FixedWidthInteger)?) {
        guard let value else { return }
        key(field)
        if value < 0 { byte(UInt8(ascii: "-")) }
        decimal(UInt64(value.magnitude))
    }

    mutating func field(_ field: FlowField, _ value: borrowing String) {
        key(field)
        string(value)
    }

    mutating func field(_ field: FlowField, _ value: String?) {
        guard let value else { return }
        key(field)
        string(value)
    }

    mutating func field(_ field: FlowField, _ value: IPAddress) {
        key(field)
        address(value)
    }

    mutating func field(_ field: FlowField, _ value: IPAddress?) {
        guard let value else { return }
        self.field(field, value)
    }

    mutating func address(_ value: IPAddress) {
        byte(UInt8(ascii: "\""))
        cursor += value.write(to: cursor)
        byte(UInt8(ascii: "\""))
    }

    mutating func field(_ field: FlowField, _ values: [IPAddress]?) {
        guard let values else { return }
        key(field)
        addresses(values)
    }

    mutating func addresses(_ values: borrowing [IPAddress]) {
        byte(UInt8(ascii: "["))
        for index in values.indices {
            if index > 0 { byte(UInt8(ascii: ",")) }
            address(values[index])
        }
        byte(UInt8(ascii: "]"))
    }

    /// Left out when empty, as on every flow.
    mutating func field(_ field: FlowField, _ stages: borrowing [DNSStage]) {
        guard !stages.isEmpty else { return }
        key(field)
        self.stages(stages)
    }

    /// Each stage's keys in `DNSStageField` order, an absent name or latency left out.
    mutating func stages(_ stages: borrowing [DNSStage]) {
        byte(UInt8(ascii: "["))
        for index in stages.indices {
            if index > 0 { byte(UInt8(ascii: ",")) }
            byte(UInt8(ascii: "{"))
            literal(DNSStageField.netNs.quotedKey)
            decimal(stages[index].netNs)
            if let name = stages[index].netNsName {
                stageKey(.netNsName)
                string(name)
            }
            stageKey(.interface)
            string(stages[index].interface)
            stageKey(.serverAddr)
            address(stages[index].serverAddr)
            stageKey(.serverPort)
            decimal(stages[index].serverPort)
            if let latency = stages[index].latencyNs {
                stageKey(.latencyMs)
                milliseconds(latency)
            }
            byte(UInt8(ascii: "}"))
        }
        byte(UInt8(ascii: "]"))
    }

    /// A stage's key after its first.
    private mutating func stageKey(_ key: DNSStageField) {
        byte(UInt8(ascii: ","))
        literal(key.quotedKey)
    }

    mutating func field(_ field: FlowField, _ values: borrowing [String]) {
        key(field)
        byte(UInt8(ascii: "["))
        for index in values.indices {
            if index > 0 { byte(UInt8(ascii: ",")) }
            string(values[index])
        }
        byte(UInt8(ascii: "]"))
    }

    mutating func field(_ field: FlowField, _ values: [String]?) {
        guard let values else { return }
        self.field(field, values)
    }

    mutating func field(_ field: FlowField, _ values: borrowing [UInt8]) {
        key(field)
        byte(UInt8(ascii: "["))
        for index in values.indices {
            if index > 0 { byte(UInt8(ascii: ",")) }
            decimal(values[index])
        }
        byte(UInt8(ascii: "]"))
    }

    /// Milliseconds with up to six decimals, no trailing zero but one after the point ("0.213",
    /// "40.0", "1.234567"): the text `Double.description` gives for these values, with integers.
    mutating func milliseconds(_ field: FlowField, nanoseconds: UInt64?) {
        guard let nanoseconds else { return }
        key(field)
        milliseconds(nanoseconds)
    }

    mutating func milliseconds(_ nanoseconds: UInt64) {
        let (whole, fraction) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000)
        decimal(whole)
        byte(UInt8(ascii: "."))
        guard fraction > 0 else { return byte(UInt8(ascii: "0")) }
        var (rest, place) = (fraction, UInt64(100_000))
        while rest > 0 {
            byte(UInt8(ascii: "0") + UInt8(rest / place))
            rest %= place
            place /= 10
        }
    }
}
private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
