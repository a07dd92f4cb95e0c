import DNSFlowCore
import DNSFlowStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DNSFlowCollector

@Suite struct RouterTests {
    /// Optional rather than throwing: response closures are not inferred as throwing from a `try` inside `#expect`.
    private func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) -> T? {
        try? JSONDecoder().decode(type, from: Data(body.readableBytesView))
    }

    @Test func ingestAcceptsJSONAndGzip() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let deps = try makeDependencies(in: dir)
        let app = Application(router: buildRouter(deps))
        let body = try jsonData([dnsRecord(id: 1), dnsRecord(id: 2)])
        try await withWriter(deps) { try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/flows", method: .post, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "{\"stored\":2}")
            }
            // The answer comes after the commit: the rows are there to query.
            #expect(try await deps.store.count() == 2)
            try await client.execute(
                uri: "/api/v1/flows", method: .post, headers: [.contentEncoding: "gzip"],
                body: ByteBuffer(bytes: try gzip(body))
            ) { #expect($0.status == .ok) }
            try await client.execute(
                uri: "/api/v1/flows", method: .post, headers: [.contentEncoding: "gzip"], body: ByteBuffer(bytes: body)
            ) { response in
                #expect(response.status == .badRequest)
                #expect(decode(ErrorBody.self, response.body)?.parameter == "body")
            }
            try await client.execute(uri: "/api/v1/flows", method: .post, body: ByteBuffer(string: "{\"not\": 1}")) {
                #expect($0.status == .badRequest)
            }
        } }
        #expect(deps.writer.snapshot.written == 4)
    }

    @Test func fullQueueAnswers503AndCountsDrops() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let deps = try makeDependencies(in: dir, queueSize: 1)
        let app = Application(router: buildRouter(deps))
        let body = try jsonData([dnsRecord(id: 1)])
        // No writer runs: one batch fills the queue, and the request must not wait for room.
        #expect(deps.submit([dnsRecord(id: 2)]))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/flows", method: .post, body: ByteBuffer(bytes: body)) {
                #expect($0.status == .serviceUnavailable)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("dnsflow_collector_dropped_records_total 1"))
                #expect(text.contains("dnsflow_collector_ingested_records_total 1"))
                #expect(text.contains("dnsflow_collector_store_rows 0"))
            }
        }
    }

    @Test func queryFiltersAndTotals() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let deps = try makeDependencies(in: dir)
        try await deps.store.insert([
            dnsRecord(id: 4242, name: "a.example.test", rcode: "NXDomain", latency: 9),
            dnsRecord(id: 4242, name: "b.example.test", latency: 1),
            dnsRecord(id: 7, name: "c.other.test", latency: 20),
        ])
        let app = Application(router: buildRouter(deps))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/flows?dnsId=4242&limit=1", method: .get) { response in
                #expect(response.status == .ok)
                let page = try? FlowRecordJSON.decodePage(response.body.readableBytesView)
                #expect(page?.total == 2)
                #expect(page?.records.count == 1)
                #expect(String(buffer: response.body).contains("\"DnsId\":4242"), "FlowRecord JSON keys")
            }
            let filtered = "/api/v1/flows?rcode=NXDomain&minLatencyMs=5&dnsName=*.example.test&since=10m"
            try await client.execute(uri: filtered, method: .get) { response in
                let page = try? FlowRecordJSON.decodePage(response.body.readableBytesView)
                #expect(page?.records.map(\.dnsName) == ["a.example.test"])
            }
            // A response code by number reads as by name.
            try await client.execute(uri: "/api/v1/flows?rcode=3&srcAddr=10.0.0.2", method: .get) { response in
                let page = try? FlowRecordJSON.decodePage(response.body.readableBytesView)
                #expect(page?.records.map(\.dnsName) == ["a.example.test"])
            }
            try await client.execute(uri: "/api/v1/dns/top?by=name&stat=max&limit=2", method: .get) { response in
                #expect(decode(Top.self, response.body)?.entries.map(\.key) == ["c.other.test", "a.example.test"])
            }
            try await client.execute(uri: "/api/v1/dns/top?by=rcode", method: .get) { response in
                #expect(decode(Top.self, response.body)?.entries.map(\.count) == [2, 1])
            }
            try await client.execute(uri: "/api/v1/dns/histogram?since=1h", method: .get) { response in
                #expect(response.status == .ok)
                #expect(decode(Histogram.self, response.body)?.buckets.map(\.count).reduce(0, +) == 3)
            }
        }
    }

    @Test(arguments: [
        ("dnsId=70000", "dnsId"), ("rcode=Nope", "rcode"), ("minLatencyMs=-1", "minLatencyMs"),
        ("since=yesterday", "since"), ("limit=0", "limit"), ("limit=10001", "limit"), ("port=x", "port"),
        ("since=1h&until=2h", "until"), ("srcAddr=10.0.0.256", "srcAddr"), ("dstAddr=host", "dstAddr"),
    ])
    func badParametersAre400NamingTheParameter(query: String, parameter: String) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = Application(router: buildRouter(try makeDependencies(in: dir)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/flows?\(query)", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(decode(ErrorBody.self, response.body)?.parameter == parameter)
            }
        }
    }

    @Test func topRejectsUnknownGrouping() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let app = Application(router: buildRouter(try makeDependencies(in: dir)))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/dns/top?by=server", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(decode(ErrorBody.self, response.body)?.parameter == "by")
            }
        }
    }

    @Test func tokenGuardsTheAPIButNotHealthOrPage() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let deps = try makeDependencies(in: dir, token: "s3cret")
        let app = Application(router: buildRouter(deps))
        let body = ByteBuffer(bytes: try jsonData([dnsRecord(id: 1)]))
        try await app.test(.router) { client in
            for (uri, method) in [("/api/v1/flows", HTTPRequest.Method.get), ("/api/v1/dns/top", .get), ("/metrics", .get)] {
                try await client.execute(uri: uri, method: method) { #expect($0.status == .unauthorized) }
            }
            try await client.execute(uri: "/api/v1/flows", method: .post, body: body) {
                #expect($0.status == .unauthorized)
            }
            try await client.execute(
                uri: "/api/v1/flows", method: .get, headers: [.authorization: "Bearer wrong!"]
            ) { #expect($0.status == .unauthorized) }
            try await client.execute(
                uri: "/api/v1/flows", method: .get, headers: [.authorization: "Bearer s3cret"]
            ) { #expect($0.status == .ok) }
            try await withWriter(deps) {
                try await client.execute(
                    uri: "/api/v1/flows", method: .post, headers: [.authorization: "Bearer s3cret"], body: body
                ) { #expect($0.status == .ok) }
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("Network Traffic"))
            }
            try await client.execute(uri: "/page/app.js", method: .get) { #expect($0.status == .ok) }
        }
    }

    struct ErrorBody: Decodable {
        let error: String
        let parameter: String?
    }

    struct Top: Decodable {
        let entries: [TopEntry]
    }

    struct Histogram: Decodable {
        let buckets: [LatencyBucket]
    }
}
