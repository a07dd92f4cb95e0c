/// ClickHouse's RowBinary format, written: integers little-endian, strings and arrays behind a LEB128 length,
/// `Nullable` values behind a 0 (value) or 1 (NULL) byte.
struct RowBinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func integer<T: FixedWidthInteger>(_ value: T?) {
        guard let value else { return bytes.append(1) }
        bytes.append(0)
        integer(value)
    }

    mutating func length(_ count: Int) {
        var rest = UInt64(count)
        repeat {
            let low = UInt8(rest & 0x7F)
            rest >>= 7
            bytes.append(rest == 0 ? low : low | 0x80)
        } while rest != 0
    }

    mutating func string(_ utf8: some Collection<UInt8>) {
        length(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    mutating func string(_ value: String) { string(value.utf8) }

    mutating func string(_ value: String?) {
        guard let value else { return bytes.append(1) }
        bytes.append(0)
        string(value)
    }

    /// A string column holding the text `write` produces (JSON), or NULL.
    mutating func string(nullIf isNull: Bool, _ write: (inout [UInt8]) -> Void) {
        guard !isNull else { return bytes.append(1) }
        bytes.append(0)
        var text: [UInt8] = []
        write(&text)
        string(text)
    }

    mutating func strings(_ values: [String]) {
        length(values.count)
        for value in values { string(value) }
    }

    mutating func integers<T: FixedWidthInteger>(_ values: [T]) {
        length(values.count)
        for value in values { integer(value) }
    }
}

/// RowBinary read back; every read checks the bounds, so a short or damaged answer throws instead of trapping.
struct RowBinaryReader {
    struct Truncated: Error, CustomStringConvertible {
        var description: String { "ClickHouse's RowBinary answer ended in the middle of a row" }
    }

    private let buffer: [UInt8]
    private var offset = 0

    init(_ buffer: [UInt8]) { self.buffer = buffer }

    var isAtEnd: Bool { offset >= buffer.count }

    mutating func integer<T: FixedWidthInteger>(_: T.Type = T.self) throws(Truncated) -> T {
        let size = MemoryLayout<T>.size
        guard buffer.count - offset >= size else { throw Truncated() }
        var value = T.zero
        for index in 0..<size { value |= T(truncatingIfNeeded: buffer[offset + index]) << (8 * index) }
        offset += size
        return value
    }

    /// Reads the NULL marker; true when a value follows.
    mutating func isPresent() throws(Truncated) -> Bool {
        try integer(UInt8.self) == 0
    }

    mutating func optionalInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws(Truncated) -> T? {
        try isPresent() ? try integer(T.self) : nil
    }

    mutating func length() throws(Truncated) -> Int {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try integer(UInt8.self)
            guard shift < 64 else { throw Truncated() }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard value <= UInt64(buffer.count - offset) else { throw Truncated() }
        return Int(value)
    }

    mutating func bytes() throws(Truncated) -> ArraySlice<UInt8> {
        let count = try length()
        defer { offset += count }
        return buffer[offset..<offset + count]
    }

    mutating func string() throws(Truncated) -> String {
        String(decoding: try bytes(), as: UTF8.self)
    }

    mutating func optionalString() throws(Truncated) -> String? {
        try isPresent() ? try string() : nil
    }

    mutating func strings() throws(Truncated) -> [String] {
        let count = try length()
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try string()) }
        return values
    }

    mutating func integers<T: FixedWidthInteger>(_: T.Type = T.self) throws(Truncated) -> [T] {
        let count = try length()
        var values: [T] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try integer(T.self)) }
        return values
    }
}
