import DNSFlowCore

/// What `FlowWriter` inserts into: SQLite or ClickHouse.
public protocol FlowBatchInserting: Sendable {
    /// All of `records` or none, stored when this returns.
    func insert(_ records: some Collection<FlowRecord> & Sendable) async throws
}

/// What `RetentionService` drops expired hours from.
public protocol FlowPartitionDropping: Sendable {
    /// Returns the number of flows dropped.
    func dropPartitions(endedBefore cutoffMs: Int64) async throws -> Int
}

extension FlowStore: FlowBatchInserting, FlowPartitionDropping {}
extension ClickHouseStore: FlowBatchInserting, FlowPartitionDropping {}
