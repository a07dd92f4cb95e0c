import DNSFlowCore
import NIOCore

/// A batch's JSON array as an HTTP body, written a piece at a time as the client sends it: a
/// request holds a piece of JSON in memory, not the whole body: whole bodies, several requests
/// in flight, were most of the agent's heap under load.
struct FlowRecordJSONBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    /// ~64 KiB of JSON.
    static let recordsPerPiece = 128

    let records: ArraySlice<FlowRecord>

    func makeAsyncIterator() -> Iterator {
        Iterator(remaining: records)
    }

    struct Iterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<FlowRecord>
        var opened = false

        mutating func next() async -> ByteBuffer? {
            guard !remaining.isEmpty || !opened else { return nil }
            let piece = remaining.prefix(FlowRecordJSONBody.recordsPerPiece)
            let (opening, closing) = (!opened, piece.count == remaining.count)
            remaining = remaining.dropFirst(piece.count)
            opened = true
            return piece.withUnsafeBufferPointer { records in
                var buffer = ByteBuffer()
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: FlowRecordJSON.maxLength(of: records)) {
                    FlowRecordJSON.write(records, opening: opening, closing: closing, to: $0)
                }
                return buffer
            }
        }
    }
}
