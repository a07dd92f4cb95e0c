import DNSFlowCore
import DNSFlowStore
import Foundation
import Hummingbird
import Logging

/// What the HTTP API needs; tests build one around a temporary store.
public struct CollectorDependencies: Sendable {
    public var store: FlowStore
    public var writer: FlowWriter
    public var metrics: CollectorMetrics
    /// nil or empty: the API is open.
    public var token: String?
    /// Largest accepted ingest body, compressed and inflated alike.
    public var maxBodyBytes: Int

    public init(
        store: FlowStore, writer: FlowWriter, metrics: CollectorMetrics, token: String?,
        maxBodyBytes: Int = 64 << 20
    ) {
        self.store = store
        self.writer = writer
        self.metrics = metrics
        self.token = token
        self.maxBodyBytes = maxBodyBytes
    }

    /// Queues records that nobody acknowledges (IPFIX, in-process) and counts them; false when dropped.
    @discardableResult
    public func submit(_ records: [FlowRecord]) -> Bool {
        count(records, queued: writer.submit(records))
    }

    /// Queues records and waits until they are committed (or refused, or failed); counts them.
    func write(_ records: [FlowRecord]) async -> FlowWriter.Outcome {
        let outcome = await writer.write(records)
        count(records, queued: outcome != .dropped)
        return outcome
    }

    @discardableResult
    private func count(_ records: [FlowRecord], queued: Bool) -> Bool {
        (queued ? metrics.ingestedRecords : metrics.droppedRecords).increment(by: Int64(records.count))
        return queued
    }
}

/// The API response of `GET /api/v1/flows`.
public typealias FlowsResponse = FlowPage

public func buildRouter(_ deps: CollectorDependencies) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let page = PageAssets()

    router.get("/healthz") { _, _ in "ok\n" }
    // The page itself is public: it holds no data, and asks for the token before its first API call.
    router.get("/") { _, _ in page.response(for: "") ?? Response(status: .notFound) }
    router.get("/page/{file}") { _, context in
        page.response(for: context.parameters.get("file") ?? "") ?? Response(status: .notFound)
    }

    let api = router.group()
    if let token = deps.token, !token.isEmpty { api.add(middleware: BearerAuth(token: token)) }

    api.get("/metrics") { _, _ in
        if let rows = try? await deps.store.count() { deps.metrics.storeRows.set(Int64(rows)) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: deps.metrics.registry.emitToBuffer()))
        )
    }

    api.post("/api/v1/flows") { request, _ in try await ingest(request, deps) }

    api.get("/api/v1/flows") { request, _ in
        let query = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs()).flowQuery()
        let page = try await deps.metrics.timed(deps.metrics.flowsQueryDuration) { try await deps.store.query(query) }
        return JSONBody.response(page)
    }

    api.get("/api/v1/dns/top") { request, _ in
        let query = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs()).topQuery()
        let entries = try await deps.metrics.timed(deps.metrics.topQueryDuration) { try await deps.store.top(query) }
        return try JSONBody.response(TopResponse(by: query.by.rawValue, stat: query.stat.rawValue, entries: entries))
    }

    api.get("/api/v1/dns/histogram") { request, _ in
        let window = try QueryParameters(parameters: request.uri.queryParameters, nowMs: FlowStore.nowMs()).window()
        let buckets = try await deps.metrics.timed(deps.metrics.histogramQueryDuration) {
            try await deps.store.latencyHistogram(since: window.since, until: window.until)
        }
        return try JSONBody.response(HistogramResponse(buckets: buckets))
    }
    return router
}

struct TopResponse: Encodable {
    let by: String
    let stat: String
    let entries: [TopEntry]
}

struct HistogramResponse: Encodable {
    let buckets: [LatencyBucket]
}

/// Decodes a JSON array of records (gzip or deflate allowed) and answers once its transaction has committed, so a
/// 200 means stored; a full write queue answers 503 at once.
private func ingest(_ request: Request, _ deps: CollectorDependencies) async throws -> Response {
    var body = try await request.body.collect(upTo: deps.maxBodyBytes)
    if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
        guard encoding == "gzip" || encoding == "deflate" else {
            throw APIError(status: .unsupportedMediaType, message: "Content-Encoding must be gzip, deflate or identity", parameter: nil)
        }
        do {
            body = try GzipBody.inflate(body, encoding: encoding, maxBytes: deps.maxBodyBytes)
        } catch {
            deps.metrics.rejectedRequests.increment()
            throw APIError.badParameter("body", "not valid \(encoding) data or larger than \(deps.maxBodyBytes) bytes inflated")
        }
    }
    let records: [FlowRecord]
    do {
        records = try body.withUnsafeReadableBytes { try FlowRecordJSON.decodeArray($0) }
    } catch {
        deps.metrics.rejectedRequests.increment()
        throw APIError.badParameter("body", "expected a JSON array of flow records: \(error)")
    }
    switch await deps.write(records) {
    case .stored:
        return try JSONBody.response(["stored": records.count], status: .ok)
    case .dropped:
        throw APIError(status: .serviceUnavailable, message: "write queue full; records dropped, retry later", parameter: nil)
    case .failed:
        throw APIError(status: .internalServerError, message: "the store failed to write the records; retry later", parameter: nil)
    }
}
