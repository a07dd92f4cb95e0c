import DNSFlowCore
import DNSFlowStore
import Foundation
import Hummingbird
import Logging

/// Largest accepted ingest body by default, compressed and inflated alike.
public let defaultMaxBodyBytes = 64 << 20

/// The API response of `GET /api/v1/flows`.
public typealias FlowsResponse = FlowPage

/// The page and the API over `query` and `ingest`; records ingested are counted in `metrics`, and a
/// non-empty `token` guards everything but the page and `/healthz`.
public func buildRouter(
    query store: some FlowQuerying, ingest: some FlowIngesting, metrics: CollectorMetrics = CollectorMetrics(),
    token: String? = nil, maxBodyBytes: Int = defaultMaxBodyBytes
) -> Router<BasicRequestContext> {
    let ingest = MeteredIngest(base: ingest, metrics: metrics)
    let router = Router(context: BasicRequestContext.self)
    let page = PageAssets()

    router.get("/healthz") { _, _ in "ok\n" }
    // The page itself is public: it holds no data, and asks for the token before its first API call.
    router.get("/") { _, _ in page.response(for: "") ?? Response(status: .notFound) }
    router.get("/page/{file}") { _, context in
        page.response(for: context.parameters.get("file") ?? "") ?? Response(status: .notFound)
    }
    // The API's description, public like the page: it holds no data.
    router.get("/api/v1/openapi.json") { _, _ in page.response(for: PageAssets.openAPI) ?? Response(status: .notFound) }

    let api = router.group()
    if let token, !token.isEmpty { api.add(middleware: BearerAuth(token: token)) }

    api.get("/metrics") { _, _ in
        if let rows = try? await store.count() { metrics.storeRows.set(Int64(rows)) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
        )
    }

    api.post("/api/v1/flows") { request, _ in
        try await accept(request, into: ingest, metrics: metrics, maxBodyBytes: maxBodyBytes)
    }

    api.get("/api/v1/flows") { request, _ in
        let query = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs()).flowQuery()
        let page = try await metrics.timed(metrics.flowsQueryDuration) { try await store.query(query) }
        return JSONBody.response(page)
    }

    api.get("/api/v1/lookups") { request, _ in
        let query = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs())
            .lookupQuery()
        let page = try await metrics.timed(metrics.lookupsQueryDuration) { try await store.query(query) }
        return JSONBody.response(page, recordsKey: "lookups")
    }

    api.get("/api/v1/dns/top") { request, _ in
        let query = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs()).topQuery()
        let entries = try await metrics.timed(metrics.topQueryDuration) { try await store.top(query) }
        return try JSONBody.response(
            TopResponse(by: query.by.rawValue, stat: query.stat.rawValue, order: query.order.rawValue, entries: entries)
        )
    }

    api.get("/api/v1/dns/timeseries") { request, _ in
        let query = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs())
            .timeSeriesQuery()
        let series = try await metrics.timed(metrics.timeSeriesQueryDuration) { try await store.timeSeries(query) }
        return try JSONBody.response(TimeSeriesResponse(metric: query.metric.rawValue, series))
    }

    api.get("/api/v1/dns/histogram") { request, _ in
        let window = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs()).window()
        let buckets = try await metrics.timed(metrics.histogramQueryDuration) {
            try await store.latencyHistogram(since: window.since, until: window.until)
        }
        return try JSONBody.response(HistogramResponse(buckets: buckets))
    }
    return router
}

struct TopResponse: Encodable {
    let by: String
    let stat: String
    let order: String
    let entries: [TopEntry]
}

struct TimeSeriesResponse: Encodable {
    let metric: String
    let startMs: Int64
    let stepMs: Int64
    let series: [TimeSeries.Series]

    init(metric: String, _ series: TimeSeries) {
        self.metric = metric
        startMs = series.startMs
        stepMs = series.stepMs
        self.series = series.series
    }
}

struct HistogramResponse: Encodable {
    let buckets: [LatencyBucket]
}

/// Decodes a JSON array of records (gzip or deflate allowed) and answers once its transaction has committed, so a
/// 200 means stored; a full write queue answers 503 at once, a failed write 503 once the store gave up.
private func accept(
    _ request: Request, into ingest: some FlowIngesting, metrics: CollectorMetrics, maxBodyBytes: Int
) async throws -> Response {
    var body = try await request.body.collect(upTo: maxBodyBytes)
    if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
        guard encoding == "gzip" || encoding == "deflate" else {
            throw APIError(
                status: .unsupportedMediaType, message: "Content-Encoding must be gzip, deflate or identity",
                parameter: nil)
        }
        do {
            body = try GzipBody.inflate(body, encoding: encoding, maxBytes: maxBodyBytes)
        } catch {
            metrics.rejectedRequests.increment()
            throw APIError.badParameter(
                "body", "not valid \(encoding) data or larger than \(maxBodyBytes) bytes inflated")
        }
    }
    let records: [FlowRecord]
    do {
        records = try body.withUnsafeReadableBytes { try FlowRecordJSON.decodeArray($0) }
    } catch {
        metrics.rejectedRequests.increment()
        throw APIError.badParameter("body", "expected a JSON array of flow records: \(error)")
    }
    switch await ingest.write(records) {
    case .stored:
        return try JSONBody.response(["stored": records.count], status: .ok)
    case .dropped:
        throw APIError(
            status: .serviceUnavailable, message: "write queue full; records dropped, retry later", parameter: nil)
    case .failed:
        // The store is down or failing (a ClickHouse restart): nothing was stored, and a retry may succeed.
        throw APIError(
            status: .serviceUnavailable, message: "the store failed to write the records; retry later", parameter: nil)
    }
}
