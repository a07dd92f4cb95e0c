import DNSFlowCore
import DNSFlowStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import DNSFlowCollector

/// `GET /api/v1/lookups`, `/api/v1/dns/timeseries`, `/api/v1/dns/top` and the OpenAPI file, over the in-memory fake.
@Suite struct LookupRoutesTests {
    @Test func theOpenAPIFileListsEveryRouteAndNoOther() async throws {
        let flows = InMemoryFlows()
        let router = buildRouter(query: flows, ingest: flows)
        let routes = Set(router.routes.map { "\($0.method) \($0.path)" })
        let app = Application(router: router)
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                let paths = (object as? [String: Any])?["paths"] as? [String: [String: Any]] ?? [:]
                let documented = Set(
                    paths.flatMap { path, methods in methods.keys.map { "\($0.uppercased()) \(path)" } })
                #expect(!documented.isEmpty)
                #expect(documented.subtracting(routes).isEmpty, "documented but not routed")
                #expect(routes.subtracting(documented).isEmpty, "routed but not documented")
            }
        }
    }

    @Test func lookupsTakeThePagesFiltersAndAnswerUnderTheirOwnKey() async throws {
        let record = {
            var record = dnsRecord(id: 4242)
            record.recordType = .dnsTransaction
            return record
        }()
        let flows = InMemoryFlows(.init(stored: [record]))
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        try await app.test(.router) { client in
            let uri =
                "/api/v1/lookups?client=checkout&comm=dig&server=10.96.0.10&errors=true&sort=latency&offset=50"
                + "&dnsName=*.example.test&minLatencyMs=100&serverSource=dnstap"
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.hasPrefix("{\"lookups\":[{") && body.hasSuffix(",\"total\":1}"), "\(body)")
                #expect((try? FlowRecordJSON.decodePage(response.body.readableBytesView))?.records == [record])
            }
            try await client.execute(uri: "/api/v1/lookups?recordType=flow", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            for bad in ["errors=maybe", "sort=name", "server=dns", "offset=-1", "serverSource=cache"] {
                try await client.execute(uri: "/api/v1/lookups?\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect(
                        decode(RouterTests.ErrorBody.self, response.body)?.parameter
                            == String(bad.prefix { $0 != "=" }))
                }
            }
        }
        let query = try #require(flows.snapshot.queries.first)
        #expect(query.recordType == .dnsTransaction)
        #expect(query.client == "checkout" && query.comm == "dig" && query.server == "10.96.0.10")
        #expect(query.errorsOnly && query.order == .latency && query.offset == 50)
        #expect(query.dnsName == "*.example.test" && query.minLatencyMs == 100)
        #expect(query.serverSource == .dnstap)
    }

    @Test func timeSeriesCutsAStepFromTheRangeUnlessGiven() async throws {
        let flows = InMemoryFlows()
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/dns/timeseries?metric=rate&by=rcode", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"stepMs\":60000"))
            }
            let uri = "/api/v1/dns/timeseries?metric=latency&stat=p90&step=5m&since=24h&rcode=NXDomain"
            try await client.execute(uri: uri, method: .get) { #expect($0.status == .ok) }
            for (bad, parameter) in [
                ("metric=bytes", "metric"), ("by=name", "by"), ("stat=p42", "stat"), ("step=soon", "step"),
                ("step=1ms&since=7d", "step"),
            ] {
                try await client.execute(uri: "/api/v1/dns/timeseries?\(bad)", method: .get) { response in
                    #expect(response.status == .badRequest, "\(bad)")
                    #expect(decode(RouterTests.ErrorBody.self, response.body)?.parameter == parameter, "\(bad)")
                }
            }
        }
        let asked = flows.snapshot.timeSeriesQueries
        #expect(asked.map(\.metric) == [.rate, .latency])
        #expect(asked.map(\.stepMs) == [60_000, 300_000])
        #expect(asked.last?.stats == [.p90] && asked.first?.stats == TimeSeriesQuery.Stat.allCases)
        #expect(asked.last?.filter.rcode == "NXDomain")
        #expect(asked.map { $0.until - $0.since }.allSatisfy { $0 >= 3_600_000 })
    }

    @Test func topTakesTheGroupingOrderAndFilters() async throws {
        let flows = InMemoryFlows()
        let app = Application(router: buildRouter(query: flows, ingest: flows))
        try await app.test(.router) { client in
            let uri = "/api/v1/dns/top?by=server&stat=p50&order=errors&client=checkout&limit=3"
            try await client.execute(uri: uri, method: .get) { response in
                #expect(String(buffer: response.body).contains("\"order\":\"errors\""))
            }
        }
        let query = try #require(flows.snapshot.tops.first)
        #expect(query.by == .server && query.stat == .p50 && query.order == .errors && query.limit == 3)
        #expect(query.filter.client == "checkout")
    }
}
