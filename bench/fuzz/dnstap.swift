// libFuzzer entry point for FrameStreamReader and DnstapMessageDecoder; compiled by bench/fuzz/run.sh
// with those sources and the generated dnstap.pb.swift (DNSFlowCore and SwiftProtobuf imported as
// modules).
import DNSFlowCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDnstap(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // As a connection does: the stream in reads of any size (the first byte picks it), each data
    // frame decoded.
    var reader = FrameStreamReader()
    let piece = Int(bytes.first ?? 0) % 61 + 1
    var offset = 0
    var done = false
    while offset < bytes.count, !done {
        for action in reader.feed(bytes[offset..<min(offset + piece, bytes.count)]) {
            switch action {
            case .data(let frame):
                precondition(frame.count <= FrameStreamReader.maxFrameLength, "a data frame over the limit")
                _ = try? DnstapMessageDecoder.decode(frame, sender: 1)
            case .finished, .fail: done = true
            case .reply: break
            }
        }
        offset += piece
    }
    // The input as one data frame.
    _ = try? DnstapMessageDecoder.decode(bytes, sender: 1)
    return 0
}
