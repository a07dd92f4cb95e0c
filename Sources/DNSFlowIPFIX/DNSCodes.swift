import DNSFlowCore

/// Wire values for the DNS fields `FlowRecord` keeps as text or optionals.
///
/// A DNS record always uses the DNS template, so a field the record lacks is sent as a value that
/// cannot occur on the wire for it: latency all ones (a timeout or an orphan response), qtype 0
/// (reserved by RFC 6895), rcode and errno 255.
enum DNSCodes {
    static let absentLatency = UInt64.max
    static let absentQType: UInt16 = 0
    static let absentRcode: UInt8 = 255
    static let absentErrno: UInt8 = 255

    // Exact-name tables built from DNSFlowCore's own names, so the hot path is one hash lookup
    // instead of the case-insensitive scan `DNSResponseCode.code` does.
    private static let rcodes = Dictionary(
        (0..<absentRcode).map { (DNSResponseCode.name($0), $0) }, uniquingKeysWith: { first, _ in first })
    private static let qtypes = Dictionary(
        (1...UInt16(300)).map { (DNSQueryType.name($0), $0) }, uniquingKeysWith: { first, _ in first })

    static func rcode(_ name: String) -> UInt8? { rcodes[name] ?? DNSResponseCode.code(name) }
    static func qtype(_ name: String) -> UInt16? { qtypes[name] ?? DNSQueryType.code(name) }

    static func rcodeName(_ code: UInt8) -> String? { code == absentRcode ? nil : DNSResponseCode.name(code) }
    static func qtypeName(_ code: UInt16) -> String? { code == absentQType ? nil : DNSQueryType.name(code) }
    static func errno(_ code: UInt8) -> UInt8? { code == absentErrno ? nil : code }

    /// Milliseconds with microsecond precision to whole nanoseconds; negative and NaN mean absent.
    static func nanoseconds(_ milliseconds: Double?) -> UInt64 {
        guard let milliseconds, milliseconds >= 0, milliseconds < Double(UInt64.max) / 1e6 else { return absentLatency }
        return UInt64((milliseconds * 1e6).rounded())
    }

    static func milliseconds(_ nanoseconds: UInt64) -> Double? {
        nanoseconds == absentLatency ? nil : Double(nanoseconds) / 1e6
    }
}
