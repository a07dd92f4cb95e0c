// Encode throughput of IPFIXEncoder on one core. Built and run by run-ipfix-encode-benchmark.sh
// (an optimized build outside SwiftPM, since the package declares no benchmark target).
import DNSFlowCore
import DNSFlowIPFIX

#if canImport(Glibc)
    import Glibc
#endif

let records = benchmarkRecords()

var encoder = IPFIXEncoder()
var octets = 0
var messages = 0
let rounds = 300
let clock = ContinuousClock()
let elapsed = clock.measure {
    for _ in 0..<rounds {
        // The exporter's path: each message is handed over in place, as it copies into a ByteBuffer.
        _ = encoder.encode(records, exportTime: 1_763_812_800) { message in
            messages += 1
            octets += message.count
        }
    }
}
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let total = records.count * rounds
print("records: \(total), messages: \(messages), octets: \(octets), seconds: \(seconds)")
print("records/s: \(Int(Double(total) / seconds)), octets/record: \(octets / total)")
