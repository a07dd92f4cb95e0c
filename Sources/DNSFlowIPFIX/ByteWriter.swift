/// Big-endian writes into memory the caller has already sized; the encoder checks room first so the
/// hot loop has no bounds checks or reallocations.
struct ByteWriter {
    let base: UnsafeMutableRawPointer
    var offset: Int

    mutating func u8(_ value: UInt8) {
        base.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
        offset += 1
    }

    mutating func u16(_ value: UInt16) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
    }

    mutating func u32(_ value: UInt32) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }

    mutating func u64(_ value: UInt64) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt64.self)
        offset += 8
    }

    /// Writes a 16-bit value at an earlier position (set and message lengths known only at the end).
    func patch16(_ value: UInt16, at position: Int) {
        base.storeBytes(of: value.bigEndian, toByteOffset: position, as: UInt16.self)
    }

    mutating func bytes(_ text: String) {
        let copied = text.utf8.withContiguousStorageIfAvailable { buffer in
            if let source = buffer.baseAddress { (base + offset).copyMemory(from: source, byteCount: buffer.count) }
            return buffer.count
        }
        if let copied {
            offset += copied
        } else {
            for byte in text.utf8 { u8(byte) }
        }
    }

    /// A string as a variable-length field: its length, then its UTF-8.
    mutating func string(_ text: String) {
        variableLength(text.utf8.count)
        bytes(text)
    }

    /// RFC 7011 section 7: one length octet below 255, else 255 and a 16-bit length.
    mutating func variableLength(_ count: Int) {
        if count < 255 {
            u8(UInt8(count))
        } else {
            u8(255)
            u16(UInt16(count))
        }
    }

    /// Octets a variable-length field takes beyond the one length octet a template's minimum counts.
    static func variableLengthExtra(_ count: Int) -> Int { count < 255 ? count : count + 2 }
}
