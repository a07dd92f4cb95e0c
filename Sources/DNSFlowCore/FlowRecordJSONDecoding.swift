/// Decodes the ingest body, a JSON array of `FlowRecord`, straight from its UTF-8 bytes.
///
/// One pass over the one fixed shape, with no generic value tree. It accepts any key order and
/// whitespace, escapes, `null` or an absent key for the DNS fields, and ignores unknown keys; it
/// rejects anything else (an address that is not one, an unknown rcode or qtype name) with the byte
/// offset and what was wrong.
extension FlowRecordJSON {
    public static func decodeArray(_ bytes: UnsafeRawBufferPointer) throws(FlowJSONError) -> [FlowRecord] {
        try decodeWhole(bytes) { (j) throws(FlowJSONError) in try j.records() }
    }

    /// `encode(stages:into:)`'s text; an error names the stage and its key.
    public static func decodeStages(_ bytes: UnsafeRawBufferPointer) throws(FlowJSONError) -> [DNSStage] {
        try decodeWhole(bytes) { (j) throws(FlowJSONError) in try j.stages() }
    }

    /// `encode(addresses:into:)`'s text.
    public static func decodeAddresses(_ bytes: UnsafeRawBufferPointer) throws(FlowJSONError) -> [IPAddress] {
        try decodeWhole(bytes) { (j) throws(FlowJSONError) in try j.addresses() }
    }

    /// One value that `read` reads, and nothing after it but whitespace.
    static func decodeWhole<T>(
        _ bytes: UnsafeRawBufferPointer, _ read: (inout JSONReader) throws(FlowJSONError) -> T
    ) throws(FlowJSONError) -> T {
        var reader = JSONReader(bytes)
        let value = try read(&reader)
        reader.skipWhitespace()
        guard reader.isAtEnd else { throw reader.error("unexpected data after the array") }
        return value
    }

    public static func decodeArray(_ bytes: some Sequence<UInt8>) throws(FlowJSONError) -> [FlowRecord] {
        // `withUnsafeBytes` rethrows untyped; a `Result` carries the typed error across it.
        try Array(bytes).withUnsafeBytes { buffer in
            Result { () throws(FlowJSONError) in try decodeArray(buffer) }
        }.get()
    }

    /// The API's page, `{"flows":[...],"total":n}`, as `encodePage` writes it; other keys are ignored.
    public static func decodePage(
        _ bytes: some Sequence<UInt8>
    ) throws(FlowJSONError) -> (records: [FlowRecord], total: Int) {
        try Array(bytes).withUnsafeBytes { buffer in
            Result { () throws(FlowJSONError) in
                var reader = JSONReader(buffer)
                var page: (records: [FlowRecord], total: Int) = ([], 0)
                try reader.expect(UInt8(ascii: "{"))
                if try !reader.consume(UInt8(ascii: "}")) {
                    repeat {
                        let key = try reader.string()
                        try reader.expect(UInt8(ascii: ":"))
                        switch key {
                        case pageRecordsKey, lookupsKey: page.records = try reader.records()
                        case pageTotalKey: page.total = try reader.integer()
                        default: try reader.skipValue(depth: 0)
                        }
                    } while try reader.consume(UInt8(ascii: ","))
                    try reader.expect(UInt8(ascii: "}"))
                }
                return page
            }
        }.get()
    }
}

/// Malformed ingest JSON: where, and what was expected.
public struct FlowJSONError: Error, CustomStringConvertible, Hashable {
    /// Offset of the offending byte in the body.
    public let offset: Int
    public let reason: String

    public var description: String { "at byte \(offset): \(reason)" }
}

extension FlowField {
    static let requiredMask: UInt64 = allCases.reduce(0) { $1.isRequired ? $0 | 1 << $1.rawValue : $0 }
}

extension FlowRecord {
    /// The answers as the reader fills them in: the first of their keys makes them.
    var readAnswers: DNSAnswers {
        get { dnsAnswers ?? .none }
        set { dnsAnswers = newValue }
    }

    /// The requester as the reader fills it in: the first of its keys makes it.
    var readRequester: Requester {
        get { requester ?? Requester(pid: 0, comm: "", cgroupId: 0) }
        set { requester = newValue }
    }
}

/// The record's keys back to back, held by the reader: matching a key reads one buffer, with no lazily initialised
/// global and no array per name to go through.
private struct FieldNames {
    private let spelled: [UInt8]
    /// Where each field's name starts in `spelled`, and where the last one ends.
    private let starts: [Int]

    init() {
        let names = FlowField.allCases.map { Array($0.key.utf8) }
        spelled = names.flatMap { $0 }
        starts = names.reduce(into: [0]) { starts, name in starts.append(starts.last! + name.count) }
    }

    /// Encoders tend to write the keys in declaration order, so the search starts after the previous field; the
    /// length rules out most other fields before a byte is compared.
    func field(named key: UnsafeRawBufferPointer, after previous: Int) -> FlowField? {
        spelled.withUnsafeBytes { spelled in
            starts.withUnsafeBufferPointer { starts in
                let count = starts.count - 1
                var index = previous
                for _ in 0..<count {
                    index = index + 1 == count ? 0 : index + 1
                    let start = starts[index]
                    guard starts[index + 1] - start == key.count else { continue }
                    var matched = 0
                    while matched < key.count, spelled[start + matched] == key[matched] { matched += 1 }
                    if matched == key.count { return FlowField(rawValue: index) }
                }
                return nil
            }
        }
    }
}

/// A cursor over the body; every method skips the whitespace before the token it reads.
struct JSONReader {
    private let bytes: UnsafeRawBufferPointer
    /// Made on the first record: a reader of stages alone (the store's) never needs it.
    private lazy var fieldNames = FieldNames()
    private(set) var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { index == bytes.count }

    func error(_ reason: String) -> FlowJSONError { FlowJSONError(offset: index, reason: reason) }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func peek() throws(FlowJSONError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of the body") }
        return bytes[index]
    }

    mutating func consume(_ byte: UInt8) throws(FlowJSONError) -> Bool {
        guard try peek() == byte else { return false }
        index += 1
        return true
    }

    mutating func expect(_ byte: UInt8) throws(FlowJSONError) {
        guard try consume(byte) else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    /// Consumes `null` if it comes next.
    private mutating func consumeNull() throws(FlowJSONError) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    mutating func literal(_ word: StaticString) throws(FlowJSONError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
            UnsafeRawBufferPointer(start: word.utf8Start, count: count).elementsEqual(bytes[index..<index + count])
        else { throw error("expected \(word)") }
        index += count
    }

    // MARK: The record

    /// A JSON array of records.
    mutating func records() throws(FlowJSONError) -> [FlowRecord] {
        var records: [FlowRecord] = []
        try expect(UInt8(ascii: "["))
        if try !consume(UInt8(ascii: "]")) {
            repeat {
                records.append(try record())
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        }
        return records
    }

    mutating func record() throws(FlowJSONError) -> FlowRecord {
        var r = FlowRecord.empty
        let start = index
        let fieldNames = fieldNames
        let seen = try members(named: { fieldNames.field(named: $0, after: $1) }) { (j, field) throws(FlowJSONError) in
            try field.read(from: &j, into: &r)
        }
        let missing = FlowField.requiredMask & ~seen
        if missing != 0, let first = FlowField(rawValue: missing.trailingZeroBitCount) {
            throw FlowJSONError(offset: start, reason: "record lacks \"\(first.key)\"")
        }
        return r
    }

    /// An object: each key that `match` names (given the one named before, or -1), its value read by
    /// `read`; other keys' values skipped. Returns the keys seen, a bit per raw value.
    mutating func members<Key: RawRepresentable<Int>>(
        named match: (UnsafeRawBufferPointer, _ previous: Int) -> Key?,
        _ read: (inout JSONReader, Key) throws(FlowJSONError) -> Void
    ) throws(FlowJSONError) -> UInt64 {
        var seen: UInt64 = 0
        var previous = -1
        try expect(UInt8(ascii: "{"))
        if try !consume(UInt8(ascii: "}")) {
            repeat {
                let key = try key { match($0, previous) }
                try expect(UInt8(ascii: ":"))
                guard let key else {
                    try skipValue(depth: 0)
                    continue
                }
                seen |= 1 << key.rawValue
                previous = key.rawValue
                try read(&self, key)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        }
        return seen
    }

    /// The next object key as `match` names it, nil for a key it does not know.
    private mutating func key<Key>(_ match: (UnsafeRawBufferPointer) -> Key?) throws(FlowJSONError) -> Key? {
        guard try peek() == UInt8(ascii: "\"") else { throw error("expected a key") }
        if let raw = plainString() { return match(raw) }
        // A key with escapes: decode it, then match (no field name needs one, but JSON allows it).
        let decoded = try string()
        return decoded.utf8.withContiguousStorageIfAvailable { match(UnsafeRawBufferPointer($0)) } ?? nil
    }

    /// `DnsStages`'s value. A bad value names its stage and key (`DnsStages[1].NetNs: expected a
    /// number`), as does a missing key; unknown keys are skipped.
    mutating func stages() throws(FlowJSONError) -> [DNSStage] {
        try objects(
            in: .dnsStages, empty: DNSStage(netNs: 0, interface: "", serverAddr: .v4(0), serverPort: 0, latencyNs: nil),
            required: DNSStageField.requiredMask
        ) { (key: DNSStageField, j, stage) throws(FlowJSONError) in try key.read(from: &j, into: &stage) }
    }

    /// An array of objects in `field`, each read into a copy of `empty` key by key; a bad value names
    /// the element and its key, as does a missing key of `required`; unknown keys are skipped.
    mutating func objects<Key: NestedJSONKey & CaseIterable & RawRepresentable<Int>, Value>(
        in field: FlowField, empty: Value, required: UInt64,
        _ read: (Key, inout JSONReader, inout Value) throws(FlowJSONError) -> Void
    ) throws(FlowJSONError) -> [Value] {
        var position = 0
        return try array { (j) throws(FlowJSONError) in
            defer { position += 1 }
            var value = empty
            let start = j.index
            let seen = try j.members(named: { raw, _ in Key.allCases.first { $0.name.elementsEqual(raw) } }) {
                (j, key) throws(FlowJSONError) in
                do throws(FlowJSONError) {
                    try read(key, &j, &value)
                } catch {
                    throw FlowJSONError(
                        offset: error.offset, reason: "\(field.key)[\(position)].\(key.key): \(error.reason)")
                }
            }
            let missing = required & ~seen
            if missing != 0, let first = Key(rawValue: missing.trailingZeroBitCount) {
                throw FlowJSONError(offset: start, reason: "\(field.key)[\(position)] lacks \"\(first.key)\"")
            }
            return value
        }
    }

    mutating func addresses() throws(FlowJSONError) -> [IPAddress] {
        try array { (j) throws(FlowJSONError) in try j.address() }
    }

    /// `null`, or what `value` reads.
    mutating func nullOr<T>(_ value: (inout JSONReader) throws(FlowJSONError) -> T) throws(FlowJSONError) -> T? {
        try consumeNull() ? nil : value(&self)
    }

    mutating func address() throws(FlowJSONError) -> IPAddress {
        let start = index
        guard try peek() == UInt8(ascii: "\""), let raw = plainString(), let address = IPAddress(utf8: raw) else {
            throw FlowJSONError(offset: start, reason: "expected an IPv4 or IPv6 address")
        }
        return address
    }

    mutating func recordType() throws(FlowJSONError) -> RecordType {
        let start = index
        guard let type = RecordType(name: try string()) else {
            throw FlowJSONError(
                offset: start, reason: "expected a record type: flow, dnsTransaction, dnsResolution or dnsAlert")
        }
        return type
    }

    mutating func rcode() throws(FlowJSONError) -> DNSResponseCode {
        let start = index
        guard let code = DNSResponseCode(name: try string()) else {
            throw FlowJSONError(offset: start, reason: "expected a response code name like NXDomain")
        }
        return code
    }

    mutating func qtype() throws(FlowJSONError) -> DNSQueryType {
        let start = index
        guard let type = DNSQueryType(name: try string()) else {
            throw FlowJSONError(offset: start, reason: "expected a query type like AAAA or TYPE65")
        }
        return type
    }

    mutating func array<T>(
        _ element: (inout JSONReader) throws(FlowJSONError) -> T
    ) throws(FlowJSONError)
        -> [T]
    {
        try expect(UInt8(ascii: "["))
        var out: [T] = []
        if try consume(UInt8(ascii: "]")) { return out }
        repeat {
            out.append(try element(&self))
        } while try consume(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return out
    }

    // MARK: Strings

    /// The raw bytes of a string with no escapes (the common case), consuming it; nil, consuming nothing, otherwise.
    private mutating func plainString() -> UnsafeRawBufferPointer? {
        var end = index + 1
        while end < bytes.count {
            switch bytes[end] {
            case UInt8(ascii: "\""):
                let raw = UnsafeRawBufferPointer(rebasing: bytes[index + 1..<end])
                index = end + 1
                return raw
            case UInt8(ascii: "\\"), 0..<0x20: return nil
            default: end += 1
            }
        }
        return nil
    }

    mutating func string() throws(FlowJSONError) -> String {
        guard try peek() == UInt8(ascii: "\"") else { throw error("expected a string") }
        let start = index
        if let raw = plainString() {
            // Addresses, names and interfaces are ASCII; only other text pays for UTF-8 validation.
            if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw FlowJSONError(offset: start, reason: "string is not valid UTF-8")
            }
            return text
        }
        return try escapedString()
    }

    /// The slow path: a string with escapes, or one that is cut off or holds a control character.
    private mutating func escapedString() throws(FlowJSONError) -> String {
        let start = index
        index += 1
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw FlowJSONError(offset: start, reason: "string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                try unescape(into: &utf8)
            case 0..<0x20:
                index -= 1
                throw error("control character in a string (escape it)")
            default:
                utf8.append(byte)
            }
        }
        throw FlowJSONError(offset: start, reason: "unterminated string")
    }

    private mutating func unescape(into utf8: inout [UInt8]) throws(FlowJSONError) {
        guard index < bytes.count else { throw error("unterminated string") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one; together they name one scalar.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                else { throw error("lone surrogate in \\u escape") }
                index += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate in \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("lone surrogate in \\u escape") }
            utf8.append(contentsOf: UTF8.encode(unicode)!)
        default:
            index -= 1
            throw error("invalid escape in a string")
        }
    }

    private mutating func hex4() throws(FlowJSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt32
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(bytes[index] - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(bytes[index] - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(bytes[index] - UInt8(ascii: "A") + 10)
            default: throw error("expected four hex digits after \\u")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    // MARK: Numbers

    /// The extent of a JSON number (RFC 8259 grammar), consumed; whether it has a fraction or exponent.
    private mutating func number() throws(FlowJSONError) -> (range: Range<Int>, isInteger: Bool) {
        let start = index
        func digits(_ reader: inout JSONReader) -> Int {
            let from = reader.index
            while reader.index < reader.bytes.count, (0x30...0x39).contains(reader.bytes[reader.index]) {
                reader.index += 1
            }
            return reader.index - from
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let intStart = index
        let intDigits = digits(&self)
        guard intDigits > 0, !(intDigits > 1 && bytes[intStart] == UInt8(ascii: "0")) else {
            index = start
            throw error("expected a number")
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            isInteger = false
            guard digits(&self) > 0 else { throw error("expected digits after '.'") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            isInteger = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw error("expected digits in the exponent") }
        }
        return (start..<index, isInteger)
    }

    mutating func integer<T: FixedWidthInteger>() throws(FlowJSONError) -> T {
        _ = try peek()
        let (range, isInteger) = try number()
        guard isInteger else {
            throw FlowJSONError(offset: range.lowerBound, reason: "expected an integer")
        }
        let negative = bytes[range.lowerBound] == UInt8(ascii: "-")
        var value: T = 0
        for position in (negative ? range.lowerBound + 1 : range.lowerBound)..<range.upperBound {
            let digit = T(bytes[position] - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else {
                throw FlowJSONError(offset: range.lowerBound, reason: "number out of range for \(T.self)")
            }
            value = next
        }
        return value
    }

    /// Milliseconds to whole nanoseconds: exact for up to six decimals, rounded beyond.
    mutating func nanoseconds() throws(FlowJSONError) -> UInt64 {
        _ = try peek()
        let (range, _) = try number()
        let outOfRange = FlowJSONError(offset: range.lowerBound, reason: "latency out of range")
        var nanoseconds: UInt64 = 0
        var place: UInt64 = 1_000_000
        var position = range.lowerBound
        while position < range.upperBound {
            let byte = bytes[position]
            position += 1
            if byte == UInt8(ascii: "."), place == 1_000_000 {
                place = 100_000
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), place > 0 else {
                return try roundedNanoseconds(range)
            }
            let digit = UInt64(byte - UInt8(ascii: "0"))
            if place == 1_000_000 {
                // Before the point: shift the whole milliseconds, counted in nanoseconds.
                let (shifted, overflow) = nanoseconds.multipliedReportingOverflow(by: 10)
                let (sum, carry) = shifted.addingReportingOverflow(digit * place)
                guard !overflow, !carry else { throw outOfRange }
                nanoseconds = sum
            } else {
                let (sum, carry) = nanoseconds.addingReportingOverflow(digit * place)
                guard !carry else { throw outOfRange }
                nanoseconds = sum
                place /= 10
            }
        }
        return nanoseconds
    }

    /// The slow path: exponents, a sign, more than six decimals.
    private func roundedNanoseconds(_ range: Range<Int>) throws(FlowJSONError) -> UInt64 {
        // The grammar is already checked, so the standard parser never sees "inf", "nan" or hex forms.
        let text = String(decoding: bytes[range], as: UTF8.self)
        guard let value = Double(text), value >= 0, value * 1e6 < Double(UInt64.max) else {
            throw FlowJSONError(offset: range.lowerBound, reason: "latency out of range")
        }
        return UInt64((value * 1e6).rounded())
    }

    // MARK: Unknown keys

    /// Nesting beyond this is refused rather than risking the stack on hostile input.
    private static let maxDepth = 64

    mutating func skipValue(depth: Int) throws(FlowJSONError) {
        guard depth < Self.maxDepth else { throw error("nesting too deep") }
        switch try peek() {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"):
            index += 1
            if try consume(UInt8(ascii: "}")) { return }
            repeat {
                guard try peek() == UInt8(ascii: "\"") else { throw error("expected a key") }
                _ = try string()
                try expect(UInt8(ascii: ":"))
                try skipValue(depth: depth + 1)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "}"))
        case UInt8(ascii: "["):
            index += 1
            if try consume(UInt8(ascii: "]")) { return }
            repeat {
                try skipValue(depth: depth + 1)
            } while try consume(UInt8(ascii: ","))
            try expect(UInt8(ascii: "]"))
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try number()
        }
    }
}
