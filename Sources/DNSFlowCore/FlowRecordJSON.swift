/// Writes `FlowRecord`s as JSON without Foundation: the exporters' hot path, where `JSONEncoder`
/// managed 5-15k records/s against a node's 80k.
///
/// The output decodes with `JSONDecoder` into the same records as the synthesized `Codable` output:
/// the same keys, in `CodingKeys` order, and nil optionals left out.
public enum FlowRecordJSON {
    /// Appends `records` as one JSON array.
    public static func encode(_ records: some Collection<FlowRecord>, into buffer: inout [UInt8]) {
        // One growth up front instead of a doubling every few records: it doubled the rate in the benchmark.
        // A DNS record takes about 400 bytes (a little over, with long names: hence 450). At least doubling keeps a caller that appends batch after
        // batch to one buffer from reallocating for each.
        let needed = buffer.count + records.count * 450 + 2
        if needed > buffer.capacity { buffer.reserveCapacity(Swift.max(needed, buffer.capacity * 2)) }
        buffer.append(UInt8(ascii: "["))
        // Reading records in place: a copy of each record retains and releases its strings and arrays.
        if records.withContiguousStorageIfAvailable({ appendObjects($0, to: &buffer) }) == nil {
            Array(records).withUnsafeBufferPointer { appendObjects($0, to: &buffer) }
        }
        buffer.append(UInt8(ascii: "]"))
    }

    /// Appends `record` as one JSON object and a newline: a line of JSON Lines.
    public static func encodeLine(_ record: FlowRecord, into buffer: inout [UInt8]) {
        appendObject(record, to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
    }

    private static func appendObjects(_ records: UnsafeBufferPointer<FlowRecord>, to buffer: inout [UInt8]) {
        for index in records.indices {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            appendObject(records[index], to: &buffer)
        }
    }

    private static func appendObject(_ record: FlowRecord, to buffer: inout [UInt8]) {
        // The required fields come first, so every key after the first is led by a comma.
        buffer.appendLiteral("{\"SrcAddr\":")
        buffer.appendString(record.srcAddr)
        buffer.appendLiteral(",\"DstAddr\":")
        buffer.appendString(record.dstAddr)
        buffer.appendLiteral(",\"SrcPort\":")
        buffer.appendDecimal(UInt64(record.srcPort))
        buffer.appendLiteral(",\"DstPort\":")
        buffer.appendDecimal(UInt64(record.dstPort))
        buffer.appendLiteral(",\"Proto\":")
        buffer.appendDecimal(UInt64(record.proto))
        buffer.appendLiteral(",\"Etype\":")
        buffer.appendDecimal(UInt64(record.etype))
        buffer.appendLiteral(",\"Bytes\":")
        buffer.appendDecimal(record.bytes)
        buffer.appendLiteral(",\"Packets\":")
        buffer.appendDecimal(record.packets)
        buffer.appendLiteral(",\"TimeFlowStartMs\":")
        buffer.appendDecimal(record.timeFlowStartMs)
        buffer.appendLiteral(",\"TimeFlowEndMs\":")
        buffer.appendDecimal(record.timeFlowEndMs)
        buffer.appendLiteral(",\"Interfaces\":[")
        for (index, name) in record.interfaces.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.appendString(name)
        }
        buffer.appendLiteral("],\"IfDirections\":[")
        for (index, direction) in record.ifDirections.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.appendDecimal(UInt64(direction))
        }
        buffer.appendLiteral("],\"Flags\":")
        buffer.appendDecimal(UInt64(record.flags))
        buffer.appendLiteral(",\"NetNs\":")
        buffer.appendDecimal(UInt64(record.netNs))
        buffer.appendLiteral(",\"NodeName\":")
        buffer.appendString(record.nodeName)
        if let dnsId = record.dnsId {
            buffer.appendLiteral(",\"DnsId\":")
            buffer.appendDecimal(UInt64(dnsId))
        }
        if let dnsFlags = record.dnsFlags {
            buffer.appendLiteral(",\"DnsFlags\":")
            buffer.appendDecimal(UInt64(dnsFlags))
        }
        if let rcode = record.dnsFlagsResponseCode {
            buffer.appendLiteral(",\"DnsFlagsResponseCode\":")
            buffer.appendString(rcode)
        }
        // JSON has no infinity or NaN (JSONEncoder throws on them); such a latency is left out, as if nil.
        if let latency = record.dnsLatencyMs, latency.isFinite {
            buffer.appendLiteral(",\"DnsLatencyMs\":")
            // The shortest text that reads back as the same Double. Its forms ("0.213", "40.0",
            // "1e-05", "1e+16", "-0.0") are all JSON numbers.
            buffer.append(contentsOf: latency.description.utf8)
        }
        if let name = record.dnsName {
            buffer.appendLiteral(",\"DnsName\":")
            buffer.appendString(name)
        }
        if let qtype = record.dnsQType {
            buffer.appendLiteral(",\"DnsQType\":")
            buffer.appendString(qtype)
        }
        if let errno = record.dnsErrno {
            buffer.appendLiteral(",\"DnsErrno\":")
            buffer.appendDecimal(UInt64(errno))
        }
        buffer.append(UInt8(ascii: "}"))
    }
}

extension [UInt8] {
    fileprivate mutating func appendLiteral(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    fileprivate mutating func appendDecimal(_ value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
    }

    fileprivate mutating func appendDecimal(_ value: UInt64) {
        // Digits come out least significant first, so they fill a stack buffer from its end
        // (20 places: UInt64.max).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            var rest = value
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// A JSON string per RFC 8259: quote, backslash and control characters escaped, all other
    /// UTF-8 copied as is (a Swift string is always valid UTF-8).
    fileprivate mutating func appendString(_ text: String) {
        append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied in one go.
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                if byte < 0x20 {
                    appendLiteral("\\u00")
                    append(hexDigit(byte >> 4))
                    append(hexDigit(byte & 0xF))
                } else {
                    append(UInt8(ascii: "\\"))
                    append(byte)
                }
            }
            append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        append(UInt8(ascii: "\""))
    }
}

private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
