import Logging
import ServiceLifecycle

/// Drops the hours of flows older than the retention, once per interval, until shutdown.
public struct RetentionService: Service {
    private let store: any FlowPartitionDropping
    private let retentionMs: Int64
    private let interval: Duration
    private let logger: Logger

    public init(
        store: some FlowPartitionDropping, retention: Duration, interval: Duration = .seconds(60), logger: Logger
    ) {
        self.store = store
        self.retentionMs =
            retention.components.seconds * 1000 + retention.components.attoseconds / 1_000_000_000_000_000
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            // Sleeping is cut short by shutdown; the error only means "stop".
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }

    /// One pass; public so `dnsflow up` and tests can run it on demand.
    public func sweep(now: Int64 = FlowStore.nowMs()) async {
        do {
            let dropped = try await store.dropPartitions(endedBefore: now - retentionMs)
            if dropped > 0 {
                logger.info("retention dropped flows", metadata: ["dnsflow.retention.dropped": "\(dropped)"])
            }
        } catch {
            logger.error("retention sweep failed", metadata: ["dnsflow.store.error": "\(error)"])
        }
    }
}
