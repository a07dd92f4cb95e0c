import ArgumentParser
import AsyncHTTPClient
import DNSFlowConfig
import DNSFlowCore
import Foundation

struct FlowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "Query stored DNS lookups (one line each) or flows from a collector.",
        discussion: """
            Times (--since, --until) take RFC 3339, epoch milliseconds, or a duration ago like 10m. Without --type \
            it prints lookups from /api/v1/lookups; --type flow prints flows, --type all every record.
            """
    )

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @Option(help: "Collector base URL.")
    var collector = "http://127.0.0.1:9000"

    @Option(help: "Bearer token (default: $DNSFLOW_TOKEN).")
    var token: String?

    @Option(help: "dnsTransaction (the default: one per DNS lookup), flow, dnsResolution, dnsAlert, or all.")
    var type: String?
    @Option(help: "DNS transaction id: every node's record of it.") var dnsId: UInt16?
    @Option(help: "Query name, exact or with * globs ('*.example.test').") var name: String?
    @Option(help: "Response code name or number (NXDomain, 3).") var rcode: String?
    @Option(help: "Only latencies at least this many ms.") var minLatencyMs: Double?
    @Option(help: "Only latencies at most this many ms.") var maxLatencyMs: Double?
    @Option(help: "DNS errno (110 timed out, 2 no query).") var errno: UInt8?
    @Flag(help: "Only failed lookups: an error response code, or a timeout.") var errors = false
    @Option(help: "Client: an address, or its namespace or container name.") var client: String?
    @Option(help: "The process that asked (Comm).") var comm: String?
    @Option(help: "Server address, as asked or after translation.") var server: String?
    @Option(help: "Source address.") var srcAddr: String?
    @Option(help: "Destination address.") var dstAddr: String?
    @Option(help: "Source or destination port.") var port: UInt16?
    @Option(help: "Node name.") var node: String?
    @Option(help: "Start of the time range.") var since: String?
    @Option(help: "End of the time range.") var until: String?
    @Option(help: "time (newest first) or latency (slowest first).") var sort: String?
    @Option(help: "At most this many records (1-10000).") var limit = 100

    @Option(help: "table, json (the API's JSON; JSON Lines with --follow) or csv.")
    var output = Output.table

    @Flag(help: "Under each DNS lookup, its stages: namespace, interface, server, latency, as a waterfall.")
    var stages = false

    @Flag(help: "Keep printing new records as they are stored, oldest first, until interrupted.")
    var follow = false

    @Option(help: "With --follow, seconds between polls.") var interval = 1.0

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1-10000") }
        if let type, type != "all", RecordType(name: type) == nil {
            throw ValidationError(
                "--type must be \(RecordType.allCases.map(\.name).joined(separator: " or ")) or all")
        }
        if let sort, !["time", "latency"].contains(sort) { throw ValidationError("--sort must be time or latency") }
        if follow && sort == "latency" { throw ValidationError("--follow prints in time order; drop --sort latency") }
        guard interval > 0 && interval <= 3600 else { throw ValidationError("--interval must be 0-3600 seconds") }
        guard let url = URLComponents(string: collector), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--collector must be an http:// or https:// URL")
        }
    }

    func run() async throws {
        guard follow else {
            let (data, page) = try await fetch(requestURL())
            switch output {
            case .json:
                write(data + Data("\n".utf8))
            case .csv:
                write(FlowTable.csv(page.records))
            case .table:
                write(FlowTable.render(page.records, stages: stages))
                write("\(page.records.count) of \(page.total) records\n")
            }
            return
        }
        var tail = FollowedRecords()
        var header = output != .json
        while true {
            let (_, page) = try await fetch(requestURL(since: tail.since))
            let fresh = tail.accept(page.records)
            if !fresh.isEmpty {
                write(lines(fresh, header: header))
                header = false
            }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// New records as text, oldest first: a table's lines without realigning what was printed already.
    private func lines(_ records: [FlowRecord], header: Bool) -> String {
        switch output {
        case .json:
            var bytes: [UInt8] = []
            for record in records { FlowRecordJSON.encodeLine(record, into: &bytes) }
            return String(decoding: bytes, as: UTF8.self)
        case .csv:
            let text = FlowTable.csv(records)
            return header ? text : String(text.drop { $0 != "\n" }.dropFirst())
        case .table:
            return FlowTable.followLines(records, header: header, stages: stages)
        }
    }

    private func write(_ text: String) { write(Data(text.utf8)) }
    private func write(_ data: Data) { FileHandle.standardOutput.write(data) }

    private func fetch(_ url: String) async throws -> (Data, (records: [FlowRecord], total: Int)) {
        var request = HTTPClientRequest(url: url)
        if let token = BearerToken.resolve(token) {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 256 << 20)
        let data = Data(body.readableBytesView)
        guard response.status == .ok else {
            let message =
                (try? JSONDecoder().decode(ErrorBody.self, from: data))?.error ?? String(decoding: data, as: UTF8.self)
            throw CollectorAnswer(description: "collector answered \(response.status.code): \(message)")
        }
        return (data, try FlowRecordJSON.decodePage(data))
    }

    /// `/api/v1/lookups` for lookups, `/api/v1/flows` for flows or every record; `since` overrides `--since`.
    func requestURL(since followSince: String? = nil) throws -> String {
        let lookups = type == nil || type == RecordType.dnsTransaction.name
        let recordType = lookups || type == "all" ? nil : type
        let parameters: [(String, String?)] = [
            ("recordType", recordType), ("dnsId", dnsId.map(String.init)), ("dnsName", name), ("rcode", rcode),
            ("minLatencyMs", minLatencyMs.map { "\($0)" }), ("maxLatencyMs", maxLatencyMs.map { "\($0)" }),
            ("errno", errno.map(String.init)), ("errors", errors ? "true" : nil), ("client", client), ("comm", comm),
            ("server", server), ("srcAddr", srcAddr), ("dstAddr", dstAddr), ("port", port.map(String.init)),
            ("node", node), ("since", followSince ?? since), ("until", until), ("sort", sort),
            ("limit", String(limit)),
        ]
        guard var url = URLComponents(string: collector) else { throw ValidationError("bad --collector URL") }
        let path = lookups ? "api/v1/lookups" : "api/v1/flows"
        url.path = url.path.hasSuffix("/") ? url.path + path : url.path + "/" + path
        url.queryItems = parameters.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        // URLComponents leaves "+" as is, which servers read as a space.
        url.percentEncodedQuery = url.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        guard let string = url.string else { throw ValidationError("bad --collector URL") }
        return string
    }

    private struct ErrorBody: Decodable {
        let error: String
    }

    /// A refusal from the collector: printed as is, without the usage text meant for bad flags.
    private struct CollectorAnswer: Error, CustomStringConvertible {
        let description: String
    }
}

/// What `--follow` has printed: each poll asks from the newest end time seen, and prints only records not seen at
/// that millisecond (several end in the same one).
struct FollowedRecords {
    private var newestMs: Int64?
    private var seenAtNewest: Set<FlowRecord> = []

    var since: String? { newestMs.map(String.init) }

    /// The records not printed yet, oldest first.
    mutating func accept(_ page: [FlowRecord]) -> [FlowRecord] {
        let fresh = page.filter { record in
            guard let newestMs else { return true }
            return record.timeFlowEndMs > newestMs
                || (record.timeFlowEndMs == newestMs && !seenAtNewest.contains(record))
        }.sorted { $0.timeFlowEndMs < $1.timeFlowEndMs }
        guard let last = fresh.last?.timeFlowEndMs else { return [] }
        if last != newestMs { seenAtNewest = [] }
        newestMs = last
        seenAtNewest.formUnion(fresh.filter { $0.timeFlowEndMs == last })
        return fresh
    }
}
