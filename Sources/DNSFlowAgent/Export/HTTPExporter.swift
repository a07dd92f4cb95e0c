import AsyncHTTPClient
import DNSFlowCore
import Foundation
import Logging
import Metrics
import NIOCore
import ServiceLifecycle

public struct HTTPExporterConfig: Sendable {
    public var url: String
    public var batchSize = 5_000
    public var bufferSize = 200_000
    public var timeout: Duration = .seconds(10)

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

/// POSTs JSON arrays of records. A batch that fails is retried with backoff; meanwhile new
/// records wait in the bounded buffer, which drops the oldest when full.
public struct HTTPExporter: FlowExporter {
    public let name = "http"
    public let config: HTTPExporterConfig
    private let buffer: RecordBuffer
    private let client: HTTPClient
    private let logger: Logger
    private let metrics: ExporterMetrics

    public init(config: HTTPExporterConfig, client: HTTPClient = .shared, logger: Logger) {
        self.config = config
        self.buffer = RecordBuffer(capacity: config.bufferSize)
        self.client = client
        self.logger = logger
        self.metrics = ExporterMetrics(exporter: "http")
    }

    public func enqueue(_ records: [FlowRecord]) {
        metrics.dropped.increment(by: buffer.append(records))
    }

    public func run() async throws {
        let encoder = JSONEncoder()
        // Deliver until shutdown, then flush what is left (bounded: give up after a few tries).
        await cancelWhenGracefulShutdown {
            var backoff = Backoff()
            while !Task.isCancelled {
                await buffer.waitForRecords()
                while !Task.isCancelled, case let batch = buffer.take(config.batchSize), !batch.isEmpty {
                    if await send(batch, encoder) {
                        backoff.reset()
                    } else {
                        buffer.putBack(batch)
                        try? await Task.sleep(for: backoff.next())
                    }
                }
            }
        }
        var attempts = 0
        while case let batch = buffer.take(config.batchSize), !batch.isEmpty, attempts < 3 {
            if !(await send(batch, encoder)) {
                buffer.putBack(batch)
                attempts += 1
            }
        }
        metrics.dropped.increment(by: buffer.take(Int.max).count)
        buffer.finish()
    }

    private func send(_ batch: [FlowRecord], _ encoder: JSONEncoder) async -> Bool {
        do {
            var request = HTTPClientRequest(url: config.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try encoder.encode(batch)))
            let response = try await client.execute(request, timeout: .init(config.timeout))
            _ = try await response.body.collect(upTo: 1 << 20)
            guard (200..<300).contains(response.status.code) else {
                logger.warning(
                    "Flow receiver refused a batch",
                    metadata: ["dnsflow.url": "\(config.url)", "dnsflow.http.status": "\(response.status.code)"])
                return false
            }
            metrics.sent.increment(by: batch.count)
            return true
        } catch {
            logger.warning(
                "Flow receiver unreachable", metadata: ["dnsflow.url": "\(config.url)", "dnsflow.error": "\(error)"])
            return false
        }
    }
}

/// Exponential backoff from 100 ms, capped at 5 s.
struct Backoff {
    private var delay: Duration = .milliseconds(100)

    mutating func next() -> Duration {
        defer { delay = min(delay * 2, .seconds(5)) }
        return delay
    }

    mutating func reset() { delay = .milliseconds(100) }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Records sent and dropped, per exporter: created once, fixed labels.
struct ExporterMetrics: Sendable {
    let sent: Counter
    let dropped: Counter

    init(exporter: String) {
        sent = Counter(label: "dnsflow_exporter_records_sent_total", dimensions: [("exporter", exporter)])
        dropped = Counter(label: "dnsflow_exporter_records_dropped_total", dimensions: [("exporter", exporter)])
    }
}
