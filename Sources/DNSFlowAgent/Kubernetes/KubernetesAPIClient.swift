import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// GETs on the API server over one HTTPS client: lists as one body, watches as a stream of lines.
public final class KubernetesAPIClient: Sendable {
    /// A list body larger than this is refused: the node's pods and the cluster's Services are
    /// far below it, and a runaway answer must not take the node's memory.
    static let maxListBytes = 256 << 20
    /// One watch event at most (a pod's JSON is a few KiB; managed fields can add tens).
    static let maxEventBytes = 4 << 20

    private let connection: KubernetesConnection
    private let client: HTTPClient

    public init(connection: KubernetesConnection) throws {
        self.connection = connection
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca = connection.certificateAuthority {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
        }
        if case .clientCertificate(let certificate, let key) = connection.credential {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        // No read timeout: a watch is quiet between events (the server's bookmarks come about
        // once a minute). The request's own deadline bounds it.
        configuration.timeout = .init(connect: .seconds(5))
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// A list's body.
    func get(_ pathAndQuery: String, timeout: Duration = .seconds(30)) async throws -> ByteBuffer {
        let response = try await client.execute(try request(pathAndQuery), timeout: .seconds(timeout.seconds))
        try Self.check(response, pathAndQuery)
        return try await response.body.collect(upTo: Self.maxListBytes)
    }

    /// Calls `line` with each line of a watch's body until the server ends it (its
    /// `timeoutSeconds`), the deadline passes, or `line` returns false.
    func stream(
        _ pathAndQuery: String, deadline: Duration, line: (ByteBuffer) throws -> Bool
    ) async throws {
        let response = try await client.execute(try request(pathAndQuery), timeout: .seconds(deadline.seconds))
        try Self.check(response, pathAndQuery)
        var pending = ByteBuffer()
        for try await var chunk in response.body {
            pending.writeBuffer(&chunk)
            while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = newline - pending.readerIndex
                let event = pending.readSlice(length: length)!
                pending.moveReaderIndex(forwardBy: 1)
                if event.readableBytes > 0, try !line(event) { return }
            }
            guard pending.readableBytes <= Self.maxEventBytes else {
                throw KubernetesAPIError(status: 0, path: pathAndQuery, reason: "a watch event over 4 MiB")
            }
            pending.discardReadBytes()
        }
    }

    private func request(_ pathAndQuery: String) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: connection.server + pathAndQuery)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "dnsflow-agent")
        switch connection.credential {
        case .token(let token): request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .tokenFile(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw KubernetesAPIError(status: 0, path: pathAndQuery, reason: "cannot read the token at \(path)")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        case .clientCertificate, .none: break
        }
        return request
    }

    private static func check(_ response: HTTPClientResponse, _ path: String) throws {
        guard response.status == .ok else {
            throw KubernetesAPIError(
                status: Int(response.status.code), path: path, reason: response.status.reasonPhrase)
        }
    }
}

/// An answer other than 200 OK, or a body the agent cannot use.
struct KubernetesAPIError: Error, CustomStringConvertible {
    /// The HTTP status; 0 when the request got no status.
    var status: Int
    var path: String
    var reason: String

    /// 410 Gone: the resource version is older than the server keeps; list again.
    var isGone: Bool { status == 410 }

    var description: String { "GET \(path): \(status == 0 ? "" : "\(status) ")\(reason)" }
}

extension Duration {
    /// Whole seconds, rounded up, at least 1.
    var seconds: Int64 { max(1, components.seconds + (components.attoseconds > 0 ? 1 : 0)) }
}
