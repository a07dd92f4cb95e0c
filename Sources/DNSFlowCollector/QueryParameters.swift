import DNSFlowCore
import DNSFlowStore
import Hummingbird

/// Reads API query parameters into store queries; any bad value is a 400 naming the parameter.
struct QueryParameters {
    let parameters: Parameters
    let nowMs: Int64

    func flowQuery() throws(APIError) -> FlowQuery {
        var query = FlowQuery(limit: try limit(default: FlowQuery.defaultLimit, max: FlowQuery.maxLimit))
        if let type = string("recordType") {
            guard let recordType = RecordType(name: type) else {
                let names = RecordType.allCases.map(\.name).joined(separator: " or ")
                throw .badParameter("recordType", "expected \(names), got \"\(type)\"")
            }
            query.recordType = recordType
        }
        query.dnsId = try integer("dnsId")
        query.dnsName = string("dnsName")
        if let rcode = string("rcode") {
            guard let code = DNSResponseCode(name: rcode) else {
                throw .badParameter("rcode", "expected a response code name like NXDomain or a number 0-255")
            }
            query.rcode = code
        }
        query.minLatencyMs = try number("minLatencyMs")
        query.maxLatencyMs = try number("maxLatencyMs")
        query.errno = try integer("errno")
        query.srcAddr = try address("srcAddr")
        query.dstAddr = try address("dstAddr")
        query.port = try integer("port")
        query.node = string("node")
        (query.since, query.until) = try window()
        return query
    }

    func topQuery() throws(APIError) -> TopQuery {
        let by = try choice("by", TopQuery.Key.self) ?? .name
        let stat = try choice("stat", TopQuery.Stat.self) ?? .avg
        let (since, until) = try window()
        return TopQuery(by: by, stat: stat, limit: try limit(default: 10, max: 1000), since: since, until: until)
    }

    func window() throws(APIError) -> (since: Int64?, until: Int64?) {
        let since = try instant("since")
        let until = try instant("until")
        if let since, let until, since >= until { throw .badParameter("until", "must be after since") }
        return (since, until)
    }

    private func string(_ name: String) -> String? {
        guard let value = parameters.get(name), !value.isEmpty else { return nil }
        return String(value)
    }

    private func integer<T: FixedWidthInteger>(_ name: String) throws(APIError) -> T? {
        guard let text = string(name) else { return nil }
        guard let value = T(text) else { throw .badParameter(name, "expected an integer 0-\(T.max), got \"\(text)\"") }
        return value
    }

    private func address(_ name: String) throws(APIError) -> IPAddress? {
        guard let text = string(name) else { return nil }
        guard let address = IPAddress(text) else {
            throw .badParameter(name, "expected an IPv4 or IPv6 address, got \"\(text)\"")
        }
        return address
    }

    private func number(_ name: String) throws(APIError) -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw .badParameter(name, "expected a non-negative number of milliseconds, got \"\(text)\"")
        }
        return value
    }

    private func limit(default defaultValue: Int, max: Int) throws(APIError) -> Int {
        guard let text = string("limit") else { return defaultValue }
        guard let value = Int(text), (1...max).contains(value) else {
            throw .badParameter("limit", "expected an integer 1-\(max), got \"\(text)\"")
        }
        return value
    }

    private func instant(_ name: String) throws(APIError) -> Int64? {
        guard let text = string(name) else { return nil }
        guard let ms = TimeSyntax.instantMs(text, now: nowMs) else {
            throw .badParameter(name, "expected RFC 3339, epoch milliseconds or a duration like 10m, got \"\(text)\"")
        }
        return ms
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ name: String, _: T.Type) throws(APIError) -> T?
    where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: "|")
            throw .badParameter(name, "expected \(allowed), got \"\(text)\"")
        }
        return value
    }
}
