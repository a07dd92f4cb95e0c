import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPCompression

/// Inflates a gzip or deflate request body.
///
/// Hummingbird's extra channel handlers see HTTPTypes parts, which NIO's decompressor does not take, so
/// the body is run through the decompressor in an in-memory channel: zlib without a C target of our own.
enum GzipBody {
    static func inflate(_ body: ByteBuffer, encoding: String, maxBytes: Int) throws -> ByteBuffer {
        let channel = EmbeddedChannel(handler: NIOHTTPRequestDecompressor(limit: .size(maxBytes)))
        defer { _ = try? channel.finish() }
        let head = HTTPRequestHead(
            version: .http1_1, method: .POST, uri: "/",
            headers: ["Content-Encoding": encoding, "Content-Length": "\(body.readableBytes)"]
        )
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.body(body))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        var out = ByteBuffer()
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .body(var chunk) = part { out.writeBuffer(&chunk) }
        }
        return out
    }
}
