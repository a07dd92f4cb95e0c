import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A stand-in for kube-apiserver, which cannot be installed here: an HTTPS server (a
/// self-signed certificate made by openssl) that answers each GET with the next recorded answer
/// for its path, lists and watches apart. The last answer of a route stays, so a client that
/// lists again gets the same list. Every request is kept for the test to check.
public final class KubernetesReplayServer: Sendable {
    public enum Answer: Sendable {
        /// One body with its status, as a list or an error is answered.
        case json(status: Int = 200, String)
        /// A watch: each line after its delay, then the end of the response, or (`hold`) nothing
        /// more until the server stops.
        case events([Event], hold: Bool = false)
    }

    public struct Event: Sendable {
        public var delay: Duration
        public var line: String

        public init(after delay: Duration = .zero, _ line: String) {
            self.delay = delay
            self.line = line
        }
    }

    struct Route: Hashable {
        var path: String
        var watch: Bool
    }

    struct State {
        var answers: [Route: [Answer]] = [:]
        /// Each route's last answer, given again when its queue is empty.
        var last: [Route: Answer] = [:]
        var requests: [String] = []
        var server: Channel?
        var connections: [ObjectIdentifier: Channel] = [:]
    }

    public let certificate: TestCertificate
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let state = Mutex(State())
    private let tls: NIOSSLContext

    public init(certificate: TestCertificate) throws {
        self.certificate = certificate
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificate.keyPath, format: .pem)))
        tls = try NIOSSLContext(configuration: configuration)
    }

    /// Adds an answer for `path` (without its query): a watch if `watch`, else a list.
    public func answer(_ path: String, watch: Bool = false, _ answer: Answer) {
        state.withLock { $0.answers[Route(path: path, watch: watch), default: []].append(answer) }
    }

    /// Every request so far, path and query.
    public var requests: [String] { state.withLock { $0.requests } }

    /// Listens on 127.0.0.1 (`port` 0: any free one) and returns the port.
    @discardableResult
    public func start(port: Int = 0) async throws -> Int {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: self.tls))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ReplayHandler(server: self))
                    self.state.withLock { $0.connections[ObjectIdentifier(channel)] = channel }
                    channel.closeFuture.whenComplete { _ in
                        self.state.withLock { $0.connections[ObjectIdentifier(channel)] = nil }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        state.withLock { $0.server = channel }
        return channel.localAddress?.port ?? port
    }

    /// Stops listening and drops every connection, as an API server going away does.
    public func stop() async {
        let (server, connections) = state.withLock { state in
            defer {
                state.server = nil
                state.connections = [:]
            }
            return (state.server, Array(state.connections.values))
        }
        try? await server?.close()
        for connection in connections { try? await connection.close() }
    }

    public func shutdown() async {
        await stop()
        try? await group.shutdownGracefully()
    }

    /// The next answer for a request, recording it.
    func next(for uri: String) -> Answer {
        state.withLock { state in
            state.requests.append(uri)
            let path = String(uri.prefix { $0 != "?" })
            let route = Route(path: path, watch: uri.contains("watch=1") || uri.contains("watch=true"))
            if var queue = state.answers[route], !queue.isEmpty {
                let first = queue.removeFirst()
                state.answers[route] = queue
                state.last[route] = first
                return first
            }
            return state.last[route]
                ?? .json(status: 404, #"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}"#)
        }
    }
}

/// Answers one connection's requests from the server's script.
private final class ReplayHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: KubernetesReplayServer
    private var uri = ""

    init(server: KubernetesReplayServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end: respond(context: context, server.next(for: uri))
        }
    }

    private func respond(context: ChannelHandlerContext, _ answer: KubernetesReplayServer.Answer) {
        var headers = HTTPHeaders([("Content-Type", "application/json")])
        switch answer {
        case .json(let status, let body):
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            let head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .events(let events, let hold):
            headers.add(name: "Transfer-Encoding", value: "chunked")
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            let loop = context.eventLoop
            let bound = NIOLoopBound(context, eventLoop: loop)
            var at = Duration.zero
            for event in events {
                at += event.delay
                let line = ByteBuffer(string: event.line + "\n")
                loop.scheduleTask(in: .nanoseconds(at.nanoseconds)) {
                    bound.value.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(line))), promise: nil)
                }
            }
            if !hold {
                loop.scheduleTask(in: .nanoseconds(at.nanoseconds + 1_000_000)) {
                    bound.value.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost, made by openssl in a fresh folder.
public struct TestCertificate: Sendable {
    public let folder: String
    public var certificatePath: String { "\(folder)/server.crt" }
    public var keyPath: String { "\(folder)/server.key" }

    public init() throws {
        folder = NSTemporaryDirectory() + "k8s-replay-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=kube-apiserver", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", keyPath, "-out", certificatePath,
        ]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: certificatePath])
        }
    }

    public var pem: [UInt8] { Array(FileManager.default.contents(atPath: certificatePath) ?? Data()) }

    public func remove() { try? FileManager.default.removeItem(atPath: folder) }
}

extension Duration {
    fileprivate var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
