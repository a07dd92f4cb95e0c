// libFuzzer entry point for DNSQuestion.decode; compiled into one module with Sources/DNSFlowCore
// by bench/fuzz/run.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSQuestion(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // The agent hands the decoder a prefix of a fixed-size kernel buffer; tests use arrays.
    let fromBuffer = try? DNSQuestion.decode(bytes)
    let fromArray = try? DNSQuestion.decode(Array(bytes))
    precondition(fromBuffer == fromArray, "the decoder depends on the collection type")
    if let question = fromBuffer {
        precondition(!question.name.isEmpty)
        // Each wire byte becomes at most 4 characters (\DDD); the wire name is at most 255 bytes.
        precondition(question.name.utf8.count <= 4 * 255)
    }
    return 0
}
