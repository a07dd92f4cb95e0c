import AsyncHTTPClient
import DNSFlowConfig
import DNSFlowCore
import Foundation
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

public struct HTTPExporterConfig: Sendable {
    public var url: String
    public var batchSize = 5_000
    public var bufferSize = 50_000
    public var timeout: Duration = .seconds(10)
    /// Sent as `Authorization: Bearer …`; nil takes `$DNSFLOW_TOKEN` (`BearerToken`).
    public var token: String?

    public init(url: String) {
        self.url = url
    }

    init(url: String, at node: ConfigNode) throws(ConfigError) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
            parsed.host != nil
        else {
            throw node.fail("expected an http:// or https:// URL with a host, got '\(url)'")
        }
        self.url = url
    }
}

/// POSTs JSON arrays of records, four requests in flight: encoding overlaps the receiver's work,
/// and `dnsflow collector`, which answers once a batch is committed, commits concurrent batches
/// together (bench/README.md has why two were too few). A
/// batch that fails goes back to the front of the buffer and the exporter backs off; meanwhile new
/// records wait in the bounded buffer, which drops the oldest when full.
public struct HTTPExporter: FlowExporter {
    static let requestsInFlight = 4
    public let name = "http"
    public let config: HTTPExporterConfig
    private let buffer: RecordBuffer
    private let client: HTTPClient
    private let logger: Logger
    private let counters: ExportCounters

    public var sentRecords: Int { counters.sent }
    public var droppedRecords: Int { counters.dropped }

    public init(
        config: HTTPExporterConfig, client: HTTPClient = .shared,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger
    ) {
        var config = config
        config.token = BearerToken.resolve(config.token)
        self.config = config
        self.buffer = RecordBuffer(capacity: config.bufferSize)
        self.client = client
        self.counters = ExportCounters(exporter: "http", registry: registry)
        self.logger = logger
    }

    public func enqueue(_ records: [FlowRecord]) {
        counters.drop(buffer.append(records))
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Bool.self) { requests in
                var backoff = Backoff(maximum: .seconds(5))
                var inFlight = 0
                func settle() async {
                    guard let delivered = await requests.next() else { return }
                    inFlight -= 1
                    if delivered {
                        backoff = Backoff(maximum: .seconds(5))
                    } else {
                        let delay = backoff.next()
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                    }
                }
                // At shutdown the loop ends with records left: the flush below sends them.
                while !Task.isShuttingDownGracefully, await buffer.waitForRecords() {
                    while !Task.isShuttingDownGracefully, case let batch = buffer.take(config.batchSize), !batch.isEmpty
                    {
                        requests.addTask {
                            let delivered = await send(batch)
                            if !delivered { counters.drop(buffer.putBack(batch)) }
                            return delivered
                        }
                        inFlight += 1
                        if inFlight == Self.requestsInFlight { await settle() }
                    }
                }
                while inFlight > 0 { await settle() }
            }
        } onGracefulShutdown: { [buffer] in
            buffer.finish()
        }
        // Flush what is left, a few tries at most: shutdown must not hang on a dead receiver.
        var attempts = 0
        while attempts < 3, case let batch = buffer.take(config.batchSize), !batch.isEmpty {
            if !(await send(batch)) {
                counters.drop(buffer.putBack(batch))
                attempts += 1
            }
        }
        counters.drop(buffer.removeAll())
    }

    private func send(_ batch: ArraySlice<FlowRecord>) async -> Bool {
        do {
            var request = HTTPClientRequest(url: config.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            // Chunked: the body is written as it is sent, a piece at a time.
            request.body = .stream(FlowRecordJSONBody(records: batch), length: .unknown)
            let response = try await client.execute(request, timeout: .init(config.timeout))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard (200..<300).contains(response.status.code) else {
                logger.warning(
                    "Flow receiver refused a batch",
                    metadata: ["dnsflow.url": "\(config.url)", "dnsflow.http.status": "\(response.status.code)"])
                return false
            }
            counters.send(batch.count)
            return true
        } catch {
            logger.warning(
                "Flow receiver unreachable", metadata: ["dnsflow.url": "\(config.url)", "dnsflow.error": "\(error)"])
            return false
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
