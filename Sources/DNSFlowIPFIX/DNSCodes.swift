/// Wire values for the DNS fields `FlowRecord` keeps as optionals.
///
/// A DNS record always uses the DNS template, so a field the record lacks is sent as a value that
/// cannot occur on the wire for it: latency all ones (a timeout or an orphan response), qtype 0
/// (reserved by RFC 6895), rcode and errno 255.
enum DNSCodes {
    static let absentLatency = UInt64.max
    static let absentQType: UInt16 = 0
    static let absentRcode: UInt8 = 255
    static let absentErrno: UInt8 = 255

    static func present<T: Equatable>(_ value: T, unless absent: T) -> T? { value == absent ? nil : value }
}
