import DNSFlowCore
import DNSFlowStore
import Hummingbird

/// Reads API query parameters into store queries; any bad value is a 400 naming the parameter.
struct QueryParameters {
    let parameters: Parameters
    let nowMs: Int64

    func flowQuery(
        limit defaultLimit: Int = FlowQuery.defaultLimit, max: Int = FlowQuery.maxLimit
    ) throws(APIError)
        -> FlowQuery
    {
        var query = FlowQuery(limit: try limit(default: defaultLimit, max: max))
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
        query.client = string("client")
        query.comm = string("comm")
        query.server = try address("server")
        query.errorsOnly = try flag("errors")
        if let source = string("serverSource") {
            guard let serverSource = DNSServerSource(name: source) else {
                let names = DNSServerSource.allCases.map(\.name).joined(separator: " or ")
                throw .badParameter("serverSource", "expected \(names), got \"\(source)\"")
            }
            query.serverSource = serverSource
        }
        query.offset = Int(try integer("offset") as UInt32? ?? 0)
        query.order = try choice("sort", FlowQuery.Order.self) ?? .time
        (query.since, query.until) = try window()
        return query
    }

    /// `flowQuery()` over the DNS lookups alone.
    func lookupQuery() throws(APIError) -> FlowQuery {
        if string("recordType") != nil { throw .badParameter("recordType", "lookups are all dnsTransaction records") }
        var query = try flowQuery()
        query.recordType = .dnsTransaction
        return query
    }

    func topQuery() throws(APIError) -> TopQuery {
        let by = try choice("by", TopQuery.Key.self) ?? .name
        let stat = try choice("stat", TopQuery.Stat.self) ?? .avg
        let order = try choice("order", TopQuery.Order.self) ?? .value
        let filter = try flowQuery(limit: 10, max: 1000)
        return TopQuery(by: by, stat: stat, order: order, limit: filter.limit, filter: filter)
    }

    /// The range defaults to the last hour; the step to one cut from the range.
    func timeSeriesQuery() throws(APIError) -> TimeSeriesQuery {
        let metric = try choice("metric", TimeSeriesQuery.Metric.self) ?? .rate
        if let by = string("by"), by != "rcode" { throw .badParameter("by", "expected rcode, got \"\(by)\"") }
        let stats = try string("stat").map { (text: String) throws(APIError) -> [TimeSeriesQuery.Stat] in
            guard let stat = TimeSeriesQuery.Stat(rawValue: text) else {
                throw .badParameter("stat", "expected p50|p90|p99, got \"\(text)\"")
            }
            return [stat]
        }
        var step: Int64?
        if let text = string("step") {
            guard let ms = TimeSyntax.durationMs(text) else {
                throw .badParameter("step", "expected a duration like 10s or 5m, got \"\(text)\"")
            }
            step = ms
        }
        let filter = try flowQuery()
        let since = filter.since ?? nowMs - 3_600_000
        let until = filter.until ?? nowMs
        guard since < until else { throw .badParameter("since", "must be before until") }
        let query = TimeSeriesQuery(
            metric: metric, stats: stats ?? TimeSeriesQuery.Stat.allCases, stepMs: step, since: since, until: until,
            filter: filter)
        guard query.count <= TimeSeriesQuery.maxPoints else {
            throw .badParameter("step", "\(query.count) steps in this range; at most \(TimeSeriesQuery.maxPoints)")
        }
        return query
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

    private func flag(_ name: String) throws(APIError) -> Bool {
        guard let text = string(name) else { return false }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw .badParameter(name, "expected true or false, got \"\(text)\"")
        }
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
