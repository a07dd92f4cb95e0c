import DNSFlowCore
import Foundation
import Prometheus
import ServiceLifecycle

/// JSON lines on standard output, for debugging and for piping into other tools.
public struct StdoutExporter: FlowExporter {
    public let name = "stdout"
    private let buffer = RecordBuffer(capacity: 100_000)
    private let counters: ExportCounters

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        counters = ExportCounters(exporter: "stdout", registry: registry)
    }

    public func enqueue(_ records: [FlowRecord]) {
        counters.drop(buffer.append(records))
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while await buffer.waitForRecords() { writeBuffered() }
        } onGracefulShutdown: { [buffer] in
            buffer.finish()
        }
        writeBuffered()
    }

    /// Writes every record the buffer holds, a batch at a time.
    private func writeBuffered() {
        while case let records = buffer.take(10_000), !records.isEmpty { write(records) }
    }

    private func write(_ records: ArraySlice<FlowRecord>) {
        var out: [UInt8] = []
        for record in records { FlowRecordJSON.encodeLine(record, into: &out) }
        FileHandle.standardOutput.write(Data(out))
        counters.send(records.count)
    }
}
