// Encode throughput of FlowRecordJSON against Foundation's JSONEncoder on one core. Built and run by
// run-json-encode-benchmark.sh (an optimized build outside SwiftPM, since the package declares no
// benchmark target).
import DNSFlowCore
import Foundation

let records = benchmarkRecords()

// The HTTP exporter's batch size.
let batches = stride(from: 0, to: records.count, by: 5_000).map { Array(records[$0..<$0 + 5_000]) }

/// Encodes every batch `rounds` times; returns records/s and bytes/record.
func measure(rounds: Int, _ encode: ([FlowRecord]) -> Int) -> (rate: Int, bytesPerRecord: Int) {
    var bytes = 0
    let elapsed = ContinuousClock().measure {
        for _ in 0..<rounds {
            for batch in batches { bytes += encode(batch) }
        }
    }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let total = records.count * rounds
    return (Int(Double(total) / seconds), bytes / total)
}

let fast = measure(rounds: 100) { batch in
    var body: [UInt8] = []
    FlowRecordJSON.encode(batch, into: &body)
    return body.count
}
let encoder = JSONEncoder()
let foundation = measure(rounds: 5) { batch in (try? encoder.encode(batch))?.count ?? 0 }
print("FlowRecordJSON: \(fast.rate) records/s, \(fast.bytesPerRecord) bytes/record")
print("JSONEncoder:    \(foundation.rate) records/s, \(foundation.bytesPerRecord) bytes/record")
