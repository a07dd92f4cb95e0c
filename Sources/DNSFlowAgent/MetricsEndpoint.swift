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
        let accepted = AcceptedConnections<HTTPServerRequestPart, HTTPServerResponsePart>()
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return accepted.adopt(
                            try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                                wrappingChannelSynchronously: channel))
                    }
                }
        } catch {
            throw MetricsEndpointError.cannotListen(host: host, port: port, underlying: error)
        }
        logger.info("Agent metrics listening", metadata: ["dnsflow.metrics.address": "\(host):\(port)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections.cancelOnGracefulShutdown() {
                    group.addTask { try? await respond(on: accepted.serve(connection)) }
                }
            }
        }
        await accepted.closeUnserved()
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
                    headers.add(
                        name: "Content-Type", value: path == "/metrics" ? "text/plain; version=0.0.4" : "text/plain")
                    headers.add(name: "Content-Length", value: "\(body.count)")
                    try await outbound.write(
                        .head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }

    private func answer(_ path: String) -> (HTTPResponseStatus, [UInt8]) {
        switch path {
        case "/metrics": return (.ok, registry.emitToBuffer())
        case "/healthz":
            return isHealthy() ? (.ok, Array("ok\n".utf8)) : (.serviceUnavailable, Array("detached\n".utf8))
        default: return (.notFound, Array("not found\n".utf8))
        }
    }
}

/// Why the metrics endpoint could not serve, worded so the user knows what to change.
public struct MetricsEndpointError: Error, CustomStringConvertible {
    private enum Code {
        case cannotListen(host: String, port: Int)
    }

    private let code: Code
    /// What the system answered.
    public let underlying: any Error

    static func cannotListen(host: String, port: Int, underlying: any Error) -> MetricsEndpointError {
        MetricsEndpointError(code: .cannotListen(host: host, port: port), underlying: underlying)
    }

    public var description: String {
        switch code {
        case .cannotListen(let host, let port):
            "spec.agent.metrics.port: cannot listen on \(host):\(port) (\(underlying)); is another agent running, "
                + "or the port taken? Choose another port."
        }
    }
}
