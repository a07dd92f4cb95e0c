// libFuzzer entry point for IPFIXStreamFramer and IPFIXDecoder; compiled into one module with
// Sources/DNSFlowIPFIX (DNSFlowCore imported as a module) by bench/fuzz/run.sh.
import DNSFlowCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIPFIX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var decoder = IPFIXDecoder()
    // As the collector's TCP ingest does: frame the stream, decode each message in turn (templates
    // learned from one message apply to the next).
    var framer = IPFIXStreamFramer()
    framer.append(bytes)
    var consumed = 0
    while let message = try? framer.next() {
        precondition(message.count >= IPFIX.messageHeaderLength, "the framer returned a message shorter than a header")
        consumed += message.count
        precondition(consumed <= bytes.count, "the framer returned more bytes than it was given")
        _ = try? decoder.decode(message, exporter: "fuzz")
    }
    // As the UDP ingest does: the datagram as one message.
    _ = try? decoder.decode(bytes, exporter: "fuzz")
    return 0
}
