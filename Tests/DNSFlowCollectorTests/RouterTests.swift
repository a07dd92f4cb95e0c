import DNSFlowCore
import DNSFlowStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DNSFlowCollector

/// A response body as JSON. Optional rather than throwing: response closures are not inferred as throwing from a
/// `try` inside `#expect`.
func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer) -> T? {
    try? JSONDecoder().decode(type, from: Data(body.readableBytesView))
}

/// The API over in-memory fakes of the store and the writer; `RouterStoreTests` runs it over SQLite.
@Suite struct RouterTests {
    @Test func ingestAcceptsJSONAndGzip() async throws {
        let flows = InMemoryFlows()
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        let body = try jsonData([dnsRecord(id: 1), dnsRecord(id: 2)])
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/flows", method: .post, body: ByteBuffer(bytes: body)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "{\"stored\":2}")
            }
            // The answer comes after the write: the records are there to query.
            #expect(try await flows.count() == 2)
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
        }
        #expect(flows.snapshot.stored.count == 4)
    }

    @Test func fullQueueAnswers503AndCountsDrops() async throws {
        let flows = InMemoryFlows(.init(queueCapacity: 1))
        let metrics = CollectorMetrics()
        let app = Application(router: buildRouter(query: flows, ingest: flows, metrics: metrics))
        let body = try jsonData([dnsRecord(id: 1)])
        // Nothing drains the queue: one batch fills it, and the request must not wait for room.
        #expect(MeteredIngest(base: flows, metrics: metrics).submit([dnsRecord(id: 2)]))
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

    @Test func queriesReachTheStoreAsParsed() async throws {
        let flows = InMemoryFlows(
            .init(
                stored: [dnsRecord(id: 4242), dnsRecord(id: 4242), dnsRecord(id: 7)],
                topEntries: [TopEntry(key: "a.example.test", value: 9, count: 1)],
                buckets: [LatencyBucket(upperMs: 1, count: 3)]))
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        try await app.test(.router) { client in
            let uri =
                "/api/v1/flows?dnsId=4242&limit=1&rcode=NXDomain&minLatencyMs=5&dnsName=*.example.test"
                + "&recordType=dnsTransaction"
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok)
                let page = try? FlowRecordJSON.decodePage(response.body.readableBytesView)
                #expect(page?.total == 3)
                #expect(page?.records.count == 1)
                #expect(String(buffer: response.body).contains("\"DnsId\":4242"), "FlowRecord JSON keys")
            }
            // A response code by number reads as by name.
            try await client.execute(uri: "/api/v1/flows?rcode=3", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/dns/top?by=name&stat=max&limit=2", method: .get) { response in
                #expect(decode(Top.self, response.body)?.entries.map(\.key) == ["a.example.test"])
            }
            try await client.execute(uri: "/api/v1/dns/histogram?since=1h", method: .get) { response in
                #expect(decode(Histogram.self, response.body)?.buckets.map(\.count) == [3])
            }
        }
        let asked = flows.snapshot
        #expect(asked.queries.map(\.dnsId) == [4242, nil])
        #expect(asked.queries.map(\.recordType) == [.dnsTransaction, nil])
        #expect(asked.queries.first?.limit == 1)
        #expect(asked.queries.map(\.rcode) == [DNSResponseCode(rawValue: 3), DNSResponseCode(rawValue: 3)])
        #expect(asked.queries.first?.minLatencyMs == 5)
        #expect(asked.queries.first?.dnsName == "*.example.test")
        #expect(asked.tops.map(\.by) == [.name])
        #expect(asked.tops.map(\.stat) == [.max])
        #expect(asked.tops.map(\.limit) == [2])
        let hourAgo = FlowStore.nowMs() - 3_600_000
        #expect(asked.windows.count == 1)
        #expect(abs((asked.windows.first?.since ?? 0) - hourAgo) < 60_000)
        #expect(asked.windows.first?.until == nil)
    }

    @Test(arguments: [
        ("dnsId=70000", "dnsId"), ("rcode=Nope", "rcode"), ("minLatencyMs=-1", "minLatencyMs"),
        ("since=yesterday", "since"), ("limit=0", "limit"), ("limit=10001", "limit"), ("port=x", "port"),
        ("since=1h&until=2h", "until"), ("srcAddr=10.0.0.256", "srcAddr"), ("dstAddr=host", "dstAddr"),
        ("recordType=dns", "recordType"),
    ])
    func badParametersAre400NamingTheParameter(query: String, parameter: String) async throws {
        let flows = InMemoryFlows()
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/flows?\(query)", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(decode(ErrorBody.self, response.body)?.parameter == parameter)
            }
        }
    }

    @Test func topRejectsUnknownGrouping() async throws {
        let flows = InMemoryFlows()
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/dns/top?by=pod", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(decode(ErrorBody.self, response.body)?.parameter == "by")
            }
        }
    }

    @Test func tokenGuardsTheAPIButNotHealthOrPage() async throws {
        let flows = InMemoryFlows()
        let app = Application(router: buildRouter(query: flows, ingest: flows, token: "s3cret"))
        let body = ByteBuffer(bytes: try jsonData([dnsRecord(id: 1)]))
        try await app.test(.router) { client in
            for (uri, method) in [
                ("/api/v1/flows", HTTPRequest.Method.get), ("/api/v1/dns/top", .get), ("/metrics", .get),
                ("/api/v1/lookups", .get), ("/api/v1/dns/timeseries", .get),
            ] {
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
            try await client.execute(
                uri: "/api/v1/flows", method: .post, headers: [.authorization: "Bearer s3cret"], body: body
            ) { #expect($0.status == .ok) }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("<h1>DNS lookups</h1>"))
            }
            try await client.execute(uri: "/page/app.js", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { #expect($0.status == .ok) }
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
