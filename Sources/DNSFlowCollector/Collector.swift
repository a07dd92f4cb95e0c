import DNSFlowCore
import DNSFlowStore
import Hummingbird
import Logging
import ServiceLifecycle

/// The HTTP server for the API and the page.
public func buildApplication(
    config: CollectorConfig, dependencies: CollectorDependencies, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: dependencies.router(),
        configuration: ApplicationConfiguration(
            address: .hostname(config.listen.host, port: config.listen.port), serverName: "dnsflow"
        ),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.listen.port) },
        logger: logger
    )
}

/// The whole collector as services for a `ServiceGroup`, plus in-process ingest.
///
/// `dnsflow collector` runs `services` in its own group; `dnsflow up` can put them in a group beside the agent
/// and hand the agent's records to `ingest(_:)` without HTTP.
public struct Collector: Sendable {
    public let dependencies: CollectorDependencies
    /// Writer first: a group stops services in reverse order, so the writer drains after the listeners stop.
    public let services: [any Service]

    /// - Parameters:
    ///   - ipfixDecoder: decodes IPFIX bytes into records; without one the IPFIX listeners are not started.
    ///   - onServerRunning: called with the bound HTTP port (useful with port 0).
    public init(
        config: CollectorConfig, logger: Logger, metrics: CollectorMetrics = CollectorMetrics(),
        ipfixDecoder: (any IPFIXDecoding)? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws(CollectorError) {
        let store: any FlowQuerying & FlowBatchInserting & FlowPartitionDropping
        var maxRowsPerInsert = FlowWriter.defaultMaxRowsPerTransaction
        if let endpoint = config.clickHouse {
            store = ClickHouseStore(endpoint: endpoint, logger: logger)
            // ClickHouse writes a part per INSERT: fewer, larger inserts.
            maxRowsPerInsert = ClickHouseStore.maxRowsPerInsert
        } else {
            do {
                store = try FlowStore(path: config.db)
            } catch {
                throw .store(error)
            }
        }
        let writer = FlowWriter(
            store: store, queueSize: config.queueSize, maxRowsPerTransaction: maxRowsPerInsert, logger: logger)
        let dependencies = CollectorDependencies(
            store: store, writer: writer, metrics: metrics, token: config.authToken
        )
        var services: [any Service] = [
            writer,
            RetentionService(store: store, retention: config.retention, logger: logger),
            buildApplication(
                config: config, dependencies: dependencies, logger: logger, onServerRunning: onServerRunning
            ),
        ]
        if let ipfixDecoder {
            services += config.ipfix.transports.sorted(by: { $0.rawValue < $1.rawValue }).map { transport in
                IPFIXListener(
                    address: config.ipfix.listen, transport: transport, decoder: ipfixDecoder,
                    sink: { dependencies.submit($0) }, logger: logger
                )
            }
        } else {
            logger.notice("no IPFIX decoder wired; IPFIX listeners not started")
        }
        self.dependencies = dependencies
        self.services = services
    }

    /// In-process ingest: queues records for the writer; false when the queue was full and they were dropped.
    @discardableResult
    public func ingest(_ records: [FlowRecord]) -> Bool {
        dependencies.submit(records)
    }
}

/// The real collector's parts: the store (SQLite or ClickHouse) and its writer, and the API's settings.
public struct CollectorDependencies: Sendable {
    public var store: any FlowQuerying & FlowBatchInserting
    public var writer: FlowWriter
    public var metrics: CollectorMetrics
    /// nil or empty: the API is open.
    public var token: String?
    /// Largest accepted ingest body, compressed and inflated alike.
    public var maxBodyBytes: Int

    public init(
        store: any FlowQuerying & FlowBatchInserting, writer: FlowWriter, metrics: CollectorMetrics, token: String?,
        maxBodyBytes: Int = defaultMaxBodyBytes
    ) {
        self.store = store
        self.writer = writer
        self.metrics = metrics
        self.token = token
        self.maxBodyBytes = maxBodyBytes
    }

    /// Queues records that nobody acknowledges (IPFIX, in-process) and counts them; false when dropped.
    @discardableResult
    public func submit(_ records: [FlowRecord]) -> Bool {
        MeteredIngest(base: writer, metrics: metrics).submit(records)
    }

    /// The API over the store and the writer.
    public func router() -> Router<BasicRequestContext> {
        buildRouter(query: store, ingest: writer, metrics: metrics, token: token, maxBodyBytes: maxBodyBytes)
    }
}
