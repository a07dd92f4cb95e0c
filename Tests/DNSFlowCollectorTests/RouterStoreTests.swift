import DNSFlowCore
import DNSFlowStore
import DNSFlowTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DNSFlowCollector

/// The router over the real SQLite store and writer; `RouterTests` covers the API over fakes.
@Suite struct RouterStoreTests {
    private typealias Top = RouterTests.Top
    private typealias Histogram = RouterTests.Histogram

    @Test func anAcknowledgedBatchIsCommitted() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let deps = try makeDependencies(in: dir)
        let app = Application(router: deps.router())
        let body = try jsonData([dnsRecord(id: 1), dnsRecord(id: 2)])
        try await withWriter(deps) {
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/flows", method: .post, body: ByteBuffer(bytes: body)) {
                    response in
                    #expect(response.status == .ok)
                }
                // The answer comes after the commit: the rows are there to query.
                #expect(try await deps.store.count() == 2)
                try await client.execute(
                    uri: "/api/v1/flows", method: .post, headers: [.contentEncoding: "gzip"],
                    body: ByteBuffer(bytes: try gzip(body))
                ) { #expect($0.status == .ok) }
            }
        }
        #expect(deps.writer.snapshot.written == 4)
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
        let app = Application(router: deps.router())
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

    /// A lookup posted as JSON comes back whole, one row for its DNS id, its stages inside.
    @Test func aLookupIsStoredAndQueriedByTypeAndId() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let deps = try makeDependencies(in: dir)
        let now = FlowStore.nowMs()
        let lookup = SampleRecords.dnatLookup(id: 4242, endMs: now)
        let body = try jsonData([lookup, SampleRecords.namedConnection(endMs: now), dnsRecord(id: 4242)])
        let app = Application(router: deps.router())
        try await withWriter(deps) {
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/flows", method: .post, body: ByteBuffer(bytes: body)) {
                    #expect($0.status == .ok)
                }
                let uri = "/api/v1/flows?dnsId=4242&recordType=dnsTransaction"
                try await client.execute(uri: uri, method: .get) { response in
                    let page = try? FlowRecordJSON.decodePage(response.body.readableBytesView)
                    #expect(page?.records == [lookup] && page?.total == 1)
                    #expect(String(buffer: response.body).contains(#""DnsStages":[{"NetNs":4026532100,"#))
                }
                try await client.execute(uri: "/api/v1/flows?recordType=flow", method: .get) { response in
                    let page = try? FlowRecordJSON.decodePage(response.body.readableBytesView)
                    #expect(page?.records.map(\.recordType) == [.flow, .flow] && page?.total == 2)
                }
            }
        }
    }
}
