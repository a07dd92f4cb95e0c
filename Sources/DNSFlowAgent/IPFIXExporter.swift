import DNSFlowCore
import DNSFlowIPFIX
import Foundation
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// Where and how to send IPFIX; the agent's YAML `exporters[].ipfix` block fills it.
public struct IPFIXExporterConfig: Sendable, Equatable {
    public enum Transport: String, Sendable, CaseIterable {
        case udp = "UDP"
        case tcp = "TCP"
    }

    public var targetHost: String
    public var targetPort: Int
    public var transport: Transport
    /// PEN of the dnsflow enterprise elements; the collector must decode with the same one.
    public var enterpriseId: UInt32
    /// How often UDP resends templates (RFC 7011 section 8.4); TCP sends them once per connection.
    public var templateRefresh: Duration
    /// Records held while the collector is slow or away; beyond it the oldest are dropped and counted.
    public var maxBufferedRecords: Int
    /// The longest wait between TCP reconnect attempts; waits double from 100 ms up to it.
    public var maxReconnectDelay: Duration

    public init(
        targetHost: String = "127.0.0.1", targetPort: Int = 4739, transport: Transport = .udp,
        enterpriseId: UInt32 = IPFIX.defaultEnterpriseId, templateRefresh: Duration = .seconds(60),
        maxBufferedRecords: Int = 100_000, maxReconnectDelay: Duration = .seconds(30)
    ) {
        self.targetHost = targetHost
        self.targetPort = targetPort
        self.transport = transport
        self.enterpriseId = enterpriseId
        self.templateRefresh = templateRefresh
        self.maxBufferedRecords = maxBufferedRecords
        self.maxReconnectDelay = maxReconnectDelay
    }
}

/// Sends flow records as IPFIX over UDP or TCP.
///
/// `enqueue` only appends to a bounded buffer and wakes `run()`, which encodes and sends. Over UDP
/// the templates go first and again every `templateRefresh`; over TCP once per connection, and a
/// lost connection is retried with capped exponential backoff while the buffer keeps the newest
/// records.
public final class IPFIXExporter: FlowExporter, Sendable {
    public let name = "ipfix"
    private let config: IPFIXExporterConfig
    private let group: any EventLoopGroup
    private let logger: Logger
    private let buffer: RecordBuffer
    private let counters: ExportCounters
    /// Time since the exporter was made, on its clock: when templates are due again.
    private let elapsed: @Sendable () -> Duration
    /// Records handed to the transport per encode: enough to fill many messages, few enough to retry.
    private static let batchSize = 512

    public var sentRecords: Int { counters.sent }
    public var droppedRecords: Int { counters.dropped }

    public init(
        config: IPFIXExporterConfig, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: some Clock<Duration> = ContinuousClock(),
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger
    ) {
        self.config = config
        self.group = group
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        var logger = logger
        logger[metadataKey: "dnsflow.exporter"] = "ipfix"
        logger[metadataKey: "dnsflow.ipfix.target"] = "\(config.targetHost):\(config.targetPort)"
        logger[metadataKey: "dnsflow.ipfix.transport"] = "\(config.transport.rawValue)"
        self.logger = logger
        self.buffer = RecordBuffer(capacity: config.maxBufferedRecords)
        self.counters = ExportCounters(exporter: "ipfix", registry: registry)
    }

    public func enqueue(_ records: [FlowRecord]) {
        counters.drop(buffer.append(records))
    }

    public func run() async throws {
        var link = Link(config: config)
        await withGracefulShutdownHandler {
            while await buffer.waitForRecords() { await deliverBuffered(over: &link) }
        } onGracefulShutdown: { [buffer] in
            buffer.finish()
        }
        // Flush what is left; `send` gives up after one failed attempt now that we are stopping.
        await deliverBuffered(over: &link)
        await link.close()
    }

    private func deliverBuffered(over link: inout Link) async {
        while true {
            let records = Array(buffer.take(Self.batchSize))
            if records.isEmpty { return }
            await send(records, over: &link)
        }
    }

    private func send(_ records: [FlowRecord], over link: inout Link) async {
        var backoff = Backoff(maximum: config.maxReconnectDelay)
        while true {
            do {
                let batch = try await link.send(records, at: elapsed(), group: group, logger: logger)
                counters.send(batch.encodedRecords)
                counters.drop(batch.skippedRecords)
                if batch.skippedRecords > 0 {
                    logger.warning("IPFIX records skipped", metadata: ["dnsflow.records": "\(batch.skippedRecords)"])
                }
                return
            } catch {
                await link.close()
                if Task.isCancelled || Task.isShuttingDownGracefully {
                    counters.drop(records.count)
                    logger.info("IPFIX records dropped at shutdown", metadata: ["dnsflow.records": "\(records.count)"])
                    return
                }
                let delay = backoff.next()
                logger.info(
                    "IPFIX send failed, retrying",
                    metadata: ["dnsflow.error": "\(error)", "dnsflow.retry.delay": "\(delay)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
            }
        }
    }
}

/// One transport session: the channel, its encoder (sequence numbers are per session) and when
/// the templates last went out.
private struct Link {
    let config: IPFIXExporterConfig
    var channel: (any Channel)?
    var encoder: IPFIXEncoder
    /// On the exporter's clock, as time since it was made.
    var templatesSent: Duration?

    init(config: IPFIXExporterConfig) {
        self.config = config
        encoder = IPFIXEncoder(enterpriseId: config.enterpriseId)
    }

    /// Sends `records`, after the templates when they are due at `now`.
    mutating func send(
        _ records: [FlowRecord], at now: Duration, group: any EventLoopGroup, logger: Logger
    )
        async throws -> IPFIXEncodedBatch
    {
        let channel = try await connected(group: group, logger: logger)
        let exportTime = UInt32(clamping: Int(Date().timeIntervalSince1970))
        var messages: [ByteBuffer] = []
        let templatesDue = templatesSent.map { config.transport == .udp && now - $0 >= config.templateRefresh } ?? true
        if templatesDue {
            messages = encoder.templateMessages(exportTime: exportTime).map { channel.allocator.buffer(bytes: $0) }
            templatesSent = now
        }
        let batch = encoder.encode(records, exportTime: exportTime) {
            messages.append(channel.allocator.buffer(bytes: $0))
        }
        for message in messages.dropLast() {
            channel.write(message, promise: nil)
        }
        if let last = messages.last {
            try await channel.writeAndFlush(last)
        }
        return batch
    }

    private mutating func connected(group: any EventLoopGroup, logger: Logger) async throws -> any Channel {
        if let channel, channel.isActive { return channel }
        await close()
        let host = config.targetHost
        let port = config.targetPort
        let channel: any Channel =
            switch config.transport {
            case .udp: try await DatagramBootstrap(group: group).connect(host: host, port: port).get()
            case .tcp:
                try await ClientBootstrap(group: group)
                    .channelOption(.socketOption(.so_keepalive), value: 1)
                    .connect(host: host, port: port).get()
            }
        logger.info("IPFIX exporter connected")
        self.channel = channel
        if config.transport == .tcp {
            // A new TCP connection is a new transport session: templates again, numbering from zero.
            encoder = IPFIXEncoder(enterpriseId: config.enterpriseId)
            templatesSent = nil
        }
        return channel
    }

    mutating func close() async {
        guard let channel else { return }
        self.channel = nil
        try? await channel.close()
    }
}
