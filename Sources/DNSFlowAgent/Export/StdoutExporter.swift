import DNSFlowCore
import Foundation
import ServiceLifecycle

/// JSON lines on standard output, for debugging and for piping into other tools.
public struct StdoutExporter: FlowExporter {
    public let name = "stdout"
    private let buffer = RecordBuffer(capacity: 100_000)
    private let counters = ExportCounters(exporter: "stdout")

    public init() {}

    public func enqueue(_ records: [FlowRecord]) {
        counters.drop(buffer.append(records))
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while await buffer.waitForRecords() { write(buffer.take(10_000)) }
        } onGracefulShutdown: { [buffer] in
            buffer.finish()
        }
        write(buffer.take(Int.max))
    }

    private func write(_ records: ArraySlice<FlowRecord>) {
        guard !records.isEmpty else { return }
        var out: [UInt8] = []
        for record in records { FlowRecordJSON.encodeLine(record, into: &out) }
        FileHandle.standardOutput.write(Data(out))
        counters.send(records.count)
    }
}
