// libFuzzer entry point for DNSAnswerSection.decode; compiled into one module with
// Sources/DNSFlowCore by bench/fuzz/run.sh. The input's first byte is the header's ANCOUNT, the
// rest the bytes after the header, as the kernel copies them.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSAnswers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let count = Int(data[0])
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let fromBuffer = try? DNSAnswerSection.decode(bytes, answerCount: count)
    let fromArray = try? DNSAnswerSection.decode(Array(bytes), answerCount: count)
    precondition(fromBuffer == fromArray, "the decoder depends on how the bytes are held")
    if let answers = fromBuffer {
        precondition(answers.addresses.count + answers.cnames.count <= count, "more answers than ANCOUNT")
        precondition(answers.cnames.allSatisfy { !$0.isEmpty && $0.utf8.count <= 4 * 255 })
        precondition(answers.addresses.isEmpty && answers.cnames.isEmpty || answers.ttl != nil, "an answer with no TTL")
    }
    return 0
}
