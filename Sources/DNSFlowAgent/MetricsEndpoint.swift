import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The agent's `/metrics` (Prometheus text) and `/healthz`, on `spec.agent.metrics.port`.
///
/// Plain NIO HTTP/1: two read-only endpoints do not need a web framework in every node's agent.
public struct MetricsEndpoint: Service {
    public let host: String
    public let port: Int
    private let registry: PrometheusCollectorRegistry
    private let isHealthy: @Sendable () -> Bool
    private let logger: Logger

    public init(
        host: String = "0.0.0.0", port: Int, registry: PrometheusCollectorRegistry, logger: Logger,
        isHealthy: @escaping @Sendable () -> Bool
    ) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
        self.isHealthy = isHealthy
    }

    public func run() async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw MetricsEndpointError(
                message: "spec.agent.metrics.port: cannot listen on \(host):\(port) (\(error)); is another agent running?")
        }
        logger.info("Agent metrics listening", metadata: ["dnsflow.metrics.address": "\(host):\(port)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections.cancelOnGracefulShutdown() {
                    group.addTask { try? await respond(on: connection) }
                }
            }
        }
    }

    private func respond(on connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async throws {
        try await connection.executeThenClose { inbound, outbound in
            var path = ""
            for try await part in inbound {
                switch part {
                case .head(let head):
                    path = String(head.uri.prefix { $0 != "?" })
                case .body:
                    break
                case .end:
                    let (status, body) = answer(path)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: path == "/metrics" ? "text/plain; version=0.0.4" : "text/plain")
                    headers.add(name: "Content-Length", value: "\(body.count)")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }

    /// swift-metrics has no help text; Prometheus conventions (and promtool) want one per family.
    static let help: [String: String] = [
        "dnsflow_exporter_records_sent_total": "Records an exporter delivered.",
        "dnsflow_exporter_records_dropped_total": "Records an exporter dropped: buffer full, or the receiver gone at shutdown.",
        "dnsflow_flows_evicted_total": "Flows evicted from the kernel flow map.",
        "dnsflow_kernel_flow_map_entries": "Flows in the kernel map at the last eviction.",
        "dnsflow_kernel_dns_pending_queries": "DNS queries waiting for their response in the kernel.",
        "dnsflow_kernel_events_total": "Kernel-side packet events by reason; all but packets mean data skipped or dropped.",
        "dnsflow_dns_transactions_total": "Answered DNS transaction views by response code.",
        "dnsflow_dns_latency_seconds": "DNS latency, query to response, per namespace view.",
        "dnsflow_dns_timeouts_total": "DNS queries with no response within dnsTracking.timeout.",
        "dnsflow_dns_orphan_responses_total": "DNS responses with no query seen.",
        "dnsflow_dns_events_dropped_total": "DNS events dropped in user space because the evictor fell behind.",
        "dnsflow_dns_bad_questions_total":
            "DNS views whose question did not decode (bad label, name over 255, pointer, cut short): no DnsName.",
        "dnsflow_bpf_runs_total": "BPF program runs (kernel.bpf_stats_enabled=1 only).",
        "dnsflow_bpf_run_time_seconds_total": "BPF program run time (kernel.bpf_stats_enabled=1 only).",
    ]

    static func withHelp(_ text: [UInt8]) -> [UInt8] {
        var out = ""
        for line in String(decoding: text, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.split(separator: " ").dropFirst(2).first,
                let help = help[String(name)]
            {
                out += "# HELP \(name) \(help)\n"
            }
            out += line + "\n"
        }
        return Array(out.dropLast().utf8)
    }

    private func answer(_ path: String) -> (HTTPResponseStatus, [UInt8]) {
        switch path {
        case "/metrics": return (.ok, Self.withHelp(registry.emitToBuffer()))
        case "/healthz": return isHealthy() ? (.ok, Array("ok\n".utf8)) : (.serviceUnavailable, Array("detached\n".utf8))
        default: return (.notFound, Array("not found\n".utf8))
        }
    }
}

public struct MetricsEndpointError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
