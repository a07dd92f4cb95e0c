import CompressNIO
import NIOCore

/// Inflates a gzip or deflate request body, refusing one that would inflate past `maxBytes` (a
/// small body can inflate to gigabytes).
enum GzipBody {
    static func inflate(_ body: ByteBuffer, encoding: String, maxBytes: Int) throws -> ByteBuffer {
        // HTTP's "deflate" is the zlib format (RFC 9110 section 8.4.1.2), not a raw deflate stream.
        let algorithm: CompressionAlgorithm = encoding == "gzip" ? .gzip() : .zlib()
        var body = body
        return try body.decompress(with: algorithm, maxSize: maxBytes)
    }
}
