import DNSFlowCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Listens for resolvers' dnstap on a unix socket or TCP: Frame Streams, bidirectional or
/// unidirectional, any number of senders at once. Each data frame is decoded on the connection's
/// own task and offered to the inbox, which drops what does not fit: reading never waits on the
/// evictor, so the resolver's socket never backs up because of it.
public struct DnstapListener: Service {
    public enum Address: Sendable, Hashable, CustomStringConvertible {
        case unix(String)
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .tcp(let host, let port): "\(host):\(port)"
            }
        }
    }

    public let address: Address
    private let inbox: DnstapInbox
    private let logger: Logger
    /// Numbers the connections: an upstream is joined only with the clients of its own sender.
    private static let senders = Atomic<UInt64>(0)

    public init(address: Address, inbox: DnstapInbox, logger: Logger) {
        self.address = address
        self.inbox = inbox
        self.logger = logger
    }

    public func run() async throws {
        let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
        let accepted = AcceptedConnections<ByteBuffer, ByteBuffer>()
        let wrap = { @Sendable (channel: any Channel) in
            channel.eventLoop.makeCompletedFuture {
                accepted.adopt(try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel))
            }
        }
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        do {
            switch address {
            case .unix(let path):
                // A socket file left by an agent that was killed.
                try? FileManager.default.removeItem(atPath: path)
                try? FileManager.default.createDirectory(
                    at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
                server = try await bootstrap.bind(
                    unixDomainSocketPath: path, cleanupExistingSocketFile: true, childChannelInitializer: wrap)
                // Resolvers often run as their own user (unbound does).
                chmod(path, 0o777)
            case .tcp(let host, let port):
                server = try await bootstrap.serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: host, port: port, childChannelInitializer: wrap)
            }
        } catch {
            throw DnstapListenerError(address: address, underlying: error)
        }
        logger.info("dnstap listening", metadata: ["dnsflow.dnstap.address": "\(address)"])
        // Closing the listening socket ends the stream of connections: cancelling its iteration would
        // drop a connection accepted meanwhile without finishing it, which NIO traps on.
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await serve(accepted.serve(connection)) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        await accepted.closeUnserved()
        if case .unix(let path) = address { try? FileManager.default.removeItem(atPath: path) }
    }

    private func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let sender = Self.senders.add(1, ordering: .relaxed).newValue
        let logger = {
            var logger = self.logger
            logger[metadataKey: "dnsflow.dnstap.sender"] = "\(sender)"
            return logger
        }()
        logger.info("dnstap sender connected")
        var reader = FrameStreamReader()
        do {
            try await connection.executeThenClose { inbound, outbound in
                // A connection ends at shutdown too: a resolver holds its own open for good.
                reading: for try await chunk in inbound.cancelOnGracefulShutdown() {
                    var events: [DnstapEvent] = []
                    var frames = 0
                    var bad = 0
                    for action in reader.feed(chunk.readableBytesView) {
                        switch action {
                        case .data(let frame):
                            frames += 1
                            do throws(DnstapMessageDecoder.DecodingError) {
                                if let event = try DnstapMessageDecoder.decode(frame, sender: sender) {
                                    events.append(event)
                                }
                            } catch {
                                bad += 1
                                logger.debug("dnstap frame skipped", metadata: ["dnsflow.reason": "\(error.reason)"])
                            }
                        case .reply(let bytes):
                            try await outbound.write(ByteBuffer(bytes: bytes))
                        case .finished:
                            break reading
                        case .fail(let reason):
                            logger.warning("dnstap connection closed", metadata: ["dnsflow.reason": "\(reason)"])
                            break reading
                        }
                    }
                    inbox.offer(events, frames: frames, badFrames: bad)
                }
            }
        } catch {
            logger.debug("dnstap connection ended", metadata: ["dnsflow.error": "\(error)"])
        }
        logger.info("dnstap sender gone")
    }
}

/// The agent could not listen where `spec.agent.dnstap` says.
public struct DnstapListenerError: Error, CustomStringConvertible {
    public let address: DnstapListener.Address
    public let underlying: any Error

    public var description: String {
        "cannot listen for dnstap on \(address) (spec.agent.dnstap): \(underlying)"
    }
}
