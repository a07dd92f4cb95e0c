import ArgumentParser
import AsyncHTTPClient
import DNSFlowConfig
import DNSFlowCore
import Foundation

struct FlowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flows",
        abstract: "Query stored flows from a collector.",
        discussion: "Times (--since, --until) take RFC 3339, epoch milliseconds, or a duration ago like 10m."
    )

    @Option(help: "Collector base URL.")
    var collector = "http://127.0.0.1:9000"

    @Option(help: "Bearer token (default: $DNSFLOW_TOKEN).")
    var token: String?

    @Option(help: "Only records of this type: flow, dnsTransaction (one per DNS lookup), dnsResolution or dnsAlert.")
    var type: String?
    @Option(help: "DNS transaction id.") var dnsId: UInt16?
    @Option(help: "Query name, exact or with * globs ('*.example.test').") var name: String?
    @Option(help: "Response code name or number (NXDomain, 3).") var rcode: String?
    @Option(help: "Only latencies at least this many ms.") var minLatencyMs: Double?
    @Option(help: "Only latencies at most this many ms.") var maxLatencyMs: Double?
    @Option(help: "DNS errno (110 timed out, 2 no query).") var errno: UInt8?
    @Option(help: "Source address.") var srcAddr: String?
    @Option(help: "Destination address.") var dstAddr: String?
    @Option(help: "Source or destination port.") var port: UInt16?
    @Option(help: "Node name.") var node: String?
    @Option(help: "Start of the time range.") var since: String?
    @Option(help: "End of the time range.") var until: String?
    @Option(help: "At most this many flows (1-10000).") var limit = 100

    @Flag(help: "Print the API's JSON instead of a table.")
    var json = false

    @Flag(help: "Under each DNS lookup, its stages: namespace, interface, server, latency, as a waterfall.")
    var stages = false

    func validate() throws {
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1-10000") }
        if let type, RecordType(name: type) == nil {
            throw ValidationError("--type must be \(RecordType.allCases.map(\.name).joined(separator: " or "))")
        }
        guard let url = URLComponents(string: collector), url.scheme == "http" || url.scheme == "https" else {
            throw ValidationError("--collector must be an http:// or https:// URL")
        }
    }

    func run() async throws {
        var request = HTTPClientRequest(url: try requestURL())
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
        if json {
            FileHandle.standardOutput.write(data)
            FileHandle.standardOutput.write(Data("\n".utf8))
            return
        }
        let page = try FlowRecordJSON.decodePage(data)
        FileHandle.standardOutput.write(Data(FlowTable.render(page.records, stages: stages).utf8))
        FileHandle.standardOutput.write(Data("\(page.records.count) of \(page.total) records\n".utf8))
    }

    func requestURL() throws -> String {
        let parameters: [(String, String?)] = [
            ("recordType", type), ("dnsId", dnsId.map(String.init)), ("dnsName", name), ("rcode", rcode),
            ("minLatencyMs", minLatencyMs.map { "\($0)" }), ("maxLatencyMs", maxLatencyMs.map { "\($0)" }),
            ("errno", errno.map(String.init)), ("srcAddr", srcAddr), ("dstAddr", dstAddr),
            ("port", port.map(String.init)), ("node", node), ("since", since), ("until", until),
            ("limit", String(limit)),
        ]
        guard var url = URLComponents(string: collector) else { throw ValidationError("bad --collector URL") }
        url.path = url.path.hasSuffix("/") ? url.path + "api/v1/flows" : url.path + "/api/v1/flows"
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
