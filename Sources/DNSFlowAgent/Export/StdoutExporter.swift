import DNSFlowCore
import Foundation
import ServiceLifecycle

/// JSON lines on standard output, for debugging and for piping into other tools.
public struct StdoutExporter: FlowExporter {
    public let name = "stdout"
    private let buffer = RecordBuffer(capacity: 100_000)
    private let metrics = ExporterMetrics(exporter: "stdout")

    public init() {}

    public func enqueue(_ records: [FlowRecord]) {
        metrics.dropped.increment(by: buffer.append(records))
    }

    public func run() async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await buffer.waitForRecords()
                write(buffer.take(10_000), encoder)
            }
        }
        write(buffer.take(Int.max), encoder)
        buffer.finish()
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
        metrics.sent.increment(by: records.count)
    }
}
