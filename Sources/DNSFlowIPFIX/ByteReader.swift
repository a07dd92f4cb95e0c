/// Bounds-checked big-endian reads; every overrun becomes an `IPFIXError` instead of a trap.
struct ByteReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int

    var remaining: Int { end - offset }

    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw IPFIXError(.truncated, "\(what()) needs \(count) octets at offset \(offset), only \(remaining) left")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// The next `count` octets as a reader of their own, for a list inside a field.
    mutating func sub(_ count: Int, _ what: @autoclosure () -> String) throws -> ByteReader {
        _ = try take(count, what())
        return ByteReader(bytes: bytes, offset: offset - count, end: offset)
    }

    mutating func string(_ count: Int, _ what: @autoclosure () -> String) throws -> String {
        String(decoding: try take(count, what()), as: UTF8.self)
    }

    /// An unsigned integer of 1 to 8 octets (RFC 7011 section 6.2 allows reduced-size encoding).
    mutating func unsigned(_ count: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        guard (1...8).contains(count) else {
            throw IPFIXError(.badRecord, "\(what()) has length \(count); an unsigned field is 1 to 8 octets")
        }
        return try take(count, what()).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { UInt16(try unsigned(2, what())) }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { UInt32(try unsigned(4, what())) }

    /// The length prefix of a variable-length field (RFC 7011 section 7).
    mutating func variableLength(_ what: @autoclosure () -> String) throws -> Int {
        let short = Int(try unsigned(1, what()))
        return short < 255 ? short : Int(try u16(what()))
    }
}
