/// The receiving side of a Frame Streams connection (the transport dnstap rides on), as a state
/// machine: bytes in, actions out, no I/O.
///
/// Bidirectional: the sender's READY (with the content types it offers) is answered with ACCEPT,
/// then START … data frames … STOP, answered with FINISH. Unidirectional: START … STOP, no answer.
/// Each frame is a 32-bit big-endian length and that many bytes; a length of zero announces a
/// control frame (its own length, its type, then typed fields).
public struct FrameStreamReader: Sendable {
    public enum Action: Equatable, Sendable {
        /// Bytes to write back to the sender.
        case reply([UInt8])
        /// One data frame's payload.
        case data([UInt8])
        /// The sender finished; close once replies are written.
        case finished
        /// A protocol error: close the connection.
        case fail(String)
    }

    public enum ControlType: UInt32, Sendable {
        case accept = 1, start = 2, stop = 3, ready = 4, finish = 5
    }

    private enum Phase {
        /// Nothing yet: READY (bidirectional) or START (unidirectional).
        case opening
        /// READY answered, START next.
        case accepted
        case started
        case done
    }

    static let contentTypeField: UInt32 = 1
    /// Larger frames are refused: a dnstap message is a few hundred bytes.
    public static let maxFrameLength = 1 << 20
    static let maxControlLength = 512

    public let contentType: [UInt8]
    private var phase = Phase.opening
    /// READY came first: STOP is answered with FINISH.
    private var isBidirectional = false
    private var buffer: [UInt8] = []
    private var start = 0

    public init(contentType: String = "protobuf:dnstap.Dnstap") {
        self.contentType = Array(contentType.utf8)
    }

    /// Feeds what the connection read; returns what to do, in order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Action] {
        guard phase != .done else { return [] }
        buffer.append(contentsOf: bytes)
        var actions: [Action] = []
        while phase != .done, let step = next() {
            guard let action = step else { continue }
            actions.append(action)
            if case .fail = action { phase = .done }
        }
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        return actions
    }

    private func word(at offset: Int) -> UInt32? {
        guard buffer.count - offset >= 4 else { return nil }
        return buffer[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The next frame the buffer holds whole, consumed, and what it asks for (nil: nothing); nil
    /// when the buffer holds no whole frame.
    private mutating func next() -> Action?? {
        guard let length = word(at: start) else { return nil }
        guard length == 0 else {
            guard length <= Self.maxFrameLength else { return .fail("data frame of \(length) bytes") }
            guard buffer.count - start - 4 >= Int(length) else { return nil }
            let payload = Array(buffer[start + 4..<start + 4 + Int(length)])
            start += 4 + Int(length)
            guard phase == .started else { return .fail("data frame before START") }
            return .data(payload)
        }
        guard let controlLength = word(at: start + 4) else { return nil }
        guard controlLength >= 4, controlLength <= Self.maxControlLength else {
            return .fail("control frame of \(controlLength) bytes")
        }
        guard buffer.count - start - 8 >= Int(controlLength) else { return nil }
        let body = start + 8
        start = body + Int(controlLength)
        guard let raw = word(at: body), let type = ControlType(rawValue: raw) else {
            return .fail("unknown control frame type")
        }
        guard let offered = contentTypes(in: body + 4..<start) else { return .fail("malformed control frame fields") }
        return control(type, offered: offered)
    }

    private mutating func control(_ type: ControlType, offered: [[UInt8]]) -> Action? {
        switch (type, phase) {
        case (.ready, .opening):
            guard offered.contains(contentType) else {
                return .fail("READY without \(String(decoding: contentType, as: UTF8.self))")
            }
            phase = .accepted
            return .reply(Self.controlFrame(.accept, contentType: contentType))
        case (.start, .opening), (.start, .accepted):
            guard offered.isEmpty || offered.contains(contentType) else {
                return .fail("START with another content type")
            }
            isBidirectional = phase == .accepted
            phase = .started
            return nil
        case (.stop, .started):
            phase = .done
            return isBidirectional ? .reply(Self.controlFrame(.finish, contentType: nil)) : .finished
        default:
            return .fail("\(type) out of order")
        }
    }

    /// The CONTENT_TYPE fields of a control frame's fields; nil when they overrun it.
    private func contentTypes(in range: Range<Int>) -> [[UInt8]]? {
        var types: [[UInt8]] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard range.upperBound - offset >= 8, let field = word(at: offset), let length = word(at: offset + 4),
                Int(length) <= range.upperBound - offset - 8
            else { return nil }
            if field == Self.contentTypeField { types.append(Array(buffer[offset + 8..<offset + 8 + Int(length)])) }
            offset += 8 + Int(length)
        }
        return types
    }

    /// A control frame, escape and length first.
    public static func controlFrame(_ type: ControlType, contentType: [UInt8]?) -> [UInt8] {
        var body = word(type.rawValue)
        if let contentType { body += word(contentTypeField) + word(UInt32(contentType.count)) + contentType }
        return word(0) + word(UInt32(body.count)) + body
    }

    /// A data frame.
    public static func dataFrame(_ payload: [UInt8]) -> [UInt8] { word(UInt32(payload.count)) + payload }

    private static func word(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
}
