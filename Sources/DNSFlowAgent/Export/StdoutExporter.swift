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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        await withGracefulShutdownHandler {
            while await buffer.waitForRecords() { write(buffer.take(10_000), encoder) }
        } onGracefulShutdown: { [buffer] in
            buffer.finish()
        }
        write(buffer.take(Int.max), encoder)
    }

    private func write(_ records: [FlowRecord], _ encoder: JSONEncoder) {
        guard !records.isEmpty else { return }
        var out = Data()
        for record in records {
            guard let line = try? encoder.encode(record) else { continue }
            out.append(line)
            out.append(0x0a)
        }
        FileHandle.standardOutput.write(out)
        counters.send(records.count)
    }
}
