import DNSFlowCore
import DNSFlowStore

/// Where ingested records go: the store's writer, or an in-memory fake in tests.
public protocol FlowIngesting: Sendable {
    /// Queues records nobody acknowledges (IPFIX, in-process); false when they were dropped.
    func submit(_ records: [FlowRecord]) -> Bool
    /// Queues records and waits until they are committed, refused or failed.
    func write(_ records: [FlowRecord]) async -> FlowWriter.Outcome
}

extension FlowWriter: FlowIngesting {}

/// Ingest that counts, in the collector's metrics, what it queued and what it dropped.
struct MeteredIngest<Base: FlowIngesting>: FlowIngesting {
    let base: Base
    let metrics: CollectorMetrics

    func submit(_ records: [FlowRecord]) -> Bool {
        count(records, queued: base.submit(records))
    }

    func write(_ records: [FlowRecord]) async -> FlowWriter.Outcome {
        let outcome = await base.write(records)
        _ = count(records, queued: outcome != .dropped)
        return outcome
    }

    private func count(_ records: [FlowRecord], queued: Bool) -> Bool {
        (queued ? metrics.ingestedRecords : metrics.droppedRecords).increment(by: Int64(records.count))
        return queued
    }
}
