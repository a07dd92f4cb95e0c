import Foundation
import NIOCore
import Testing

@testable import DNSFlowCollector

@Suite struct GzipBodyTests {
    private let text = Array(String(repeating: "a DNS flow record, ", count: 200).utf8)

    /// HTTP's deflate: the zlib format, here with one stored (uncompressed) block, built by hand so
    /// the test does not use the code under test to make its input.
    private func zlibStored(_ bytes: [UInt8]) -> [UInt8] {
        let length = UInt16(bytes.count)
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        let adler = b << 16 | a
        return [0x78, 0x01, 0x01, UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8(~length >> 8)]
            + bytes + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xff), UInt8(adler >> 8 & 0xff), UInt8(adler & 0xff)]
    }

    @Test func gzipAndDeflateInflate() throws {
        let gzipped = ByteBuffer(bytes: try gzip(Data(text)))
        #expect(Array(buffer: try GzipBody.inflate(gzipped, encoding: "gzip", maxBytes: 1 << 20)) == text)
        let deflated = ByteBuffer(bytes: zlibStored(text))
        #expect(Array(buffer: try GzipBody.inflate(deflated, encoding: "deflate", maxBytes: 1 << 20)) == text)
    }

    @Test func aBodyThatInflatesPastTheLimitIsRefused() throws {
        // A small body of zeros inflates a thousandfold.
        let bomb = ByteBuffer(bytes: try gzip(Data(count: 4 << 20)))
        #expect(bomb.readableBytes < 64 << 10)
        #expect(throws: (any Error).self) { try GzipBody.inflate(bomb, encoding: "gzip", maxBytes: 1 << 20) }
        #expect(try GzipBody.inflate(bomb, encoding: "gzip", maxBytes: 4 << 20).readableBytes == 4 << 20)
    }

    @Test func dataThatIsNotCompressedIsRefused() {
        #expect(throws: (any Error).self) {
            try GzipBody.inflate(ByteBuffer(bytes: text), encoding: "gzip", maxBytes: 1 << 20)
        }
        #expect(throws: (any Error).self) {
            try GzipBody.inflate(ByteBuffer(bytes: text), encoding: "deflate", maxBytes: 1 << 20)
        }
    }
}
