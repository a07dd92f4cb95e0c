import DNSFlowCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Where IPFIX bytes came from: one UDP source socket, or one TCP connection.
public struct IPFIXPeer: Hashable, Sendable, CustomStringConvertible {
    /// `ip:port` of the exporter's socket.
    public var address: String
    public var transport: CollectorConfig.Transport

    public init(address: String, transport: CollectorConfig.Transport) {
        self.address = address
        self.transport = transport
    }

    public var description: String { "\(transport.rawValue.lowercased())://\(address)" }
}

/// Turns IPFIX bytes into flow records; the decoder keeps the per-exporter state (templates, partial messages).
///
/// Calls for one exporter never overlap and arrive in order; calls for different exporters may run concurrently.
public protocol IPFIXDecoding: Sendable {
    /// UDP: one whole datagram. TCP: the next bytes of the stream, cut anywhere (the decoder frames messages).
    func decode(_ bytes: [UInt8], from peer: IPFIXPeer) async -> [FlowRecord]
    /// The TCP connection ended: its templates and any partial message can go (RFC 7011 §8.1).
    func peerClosed(_ peer: IPFIXPeer) async
}

/// Receives IPFIX over one transport and hands decoded records to `sink`.
struct IPFIXListener: Service {
    let address: HostPort
    let transport: CollectorConfig.Transport
    let decoder: any IPFIXDecoding
    let sink: @Sendable ([FlowRecord]) -> Void
    let logger: Logger

    func run() async throws {
        switch transport {
        case .udp: try await runUDP()
        case .tcp: try await runTCP()
        }
    }

    private func runUDP() async throws {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        logger.info("IPFIX listening", metadata: ["dnsflow.ipfix.address": "udp://\(address)"])
        try await channel.executeThenClose { inbound, _ in
            for try await datagram in inbound.cancelOnGracefulShutdown() {
                let exporter = IPFIXPeer(address: Self.describe(datagram.remoteAddress), transport: .udp)
                await deliver(Array(datagram.data.readableBytesView), from: exporter)
            }
        }
    }

    private func runTCP() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, Never>(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("IPFIX listening", metadata: ["dnsflow.ipfix.address": "tcp://\(address)"])
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections.cancelOnGracefulShutdown() {
                    group.addTask { await serve(connection) }
                }
            }
        }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, Never>) async {
        let remote = connection.channel.remoteAddress.map(Self.describe) ?? "unknown"
        let exporter = IPFIXPeer(address: remote, transport: .tcp)
        do {
            try await connection.executeThenClose { inbound, _ in
                for try await chunk in inbound.cancelOnGracefulShutdown() {
                    await deliver(Array(chunk.readableBytesView), from: exporter)
                }
            }
        } catch {
            logger.debug(
                "IPFIX connection ended",
                metadata: ["dnsflow.ipfix.exporter": "\(exporter)", "dnsflow.error": "\(error)"])
        }
        await decoder.peerClosed(exporter)
    }

    private func deliver(_ bytes: [UInt8], from peer: IPFIXPeer) async {
        let records = await decoder.decode(bytes, from: peer)
        if !records.isEmpty { sink(records) }
    }

    private static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
