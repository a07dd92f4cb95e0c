import DNSFlowCore
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import DNSFlowCollector

/// Stands in for the IPFIX decoder: one record per call, the DNS id carrying the byte count.
private final class CountingDecoder: IPFIXDecoding {
    let closed = Mutex<[IPFIXPeer]>([])

    func decode(_ bytes: [UInt8], from peer: IPFIXPeer) async -> [FlowRecord] {
        [dnsRecord(id: UInt16(bytes.count), name: peer.transport.rawValue.lowercased() + ".test")]
    }

    func peerClosed(_ peer: IPFIXPeer) async {
        closed.withLock { $0.append(peer) }
    }
}

@Suite struct IPFIXIngestTests {
    /// A port that was free a moment ago; the listeners bind to a configured port, so the test picks one.
    private func freePort() async throws -> Int {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { channel.close(promise: nil) }
        return channel.localAddress?.port ?? 0
    }

    @Test func udpAndTCPBytesReachTheStoreThroughTheDecoder() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let port = try await freePort()
        let decoder = CountingDecoder()
        try await withLiveCollector(
            in: dir, configure: { $0.ipfix.listen = HostPort(host: "127.0.0.1", port: port) }, ipfixDecoder: decoder
        ) { collector, _ in
            let target = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            // The IPFIX listeners start beside the HTTP server: wait until TCP accepts, and by then
            // UDP is bound too. Up to 30 s: the unit run loads BPF programs beside this test, which
            // can stall the collector's start for seconds on two cores.
            let tcp: any Channel = try await {
                for _ in 0..<1_500 {
                    if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(to: target).get()
                    {
                        return channel
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(to: target).get()
            }()
            let udp = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0).get()
            try await udp.writeAndFlush(
                AddressedEnvelope(remoteAddress: target, data: ByteBuffer(repeating: 1, count: 16)))
            try await udp.close()

            try await tcp.writeAndFlush(ByteBuffer(repeating: 2, count: 32))
            try await waitUntilWritten(collector, 2)
            try await tcp.close()

            let page = try await collector.dependencies.store.query(.init())
            #expect(Set(page.flows.map(\.dnsName)) == ["udp.test", "tcp.test"])
            #expect(Set(page.flows.map(\.dnsId)) == [16, 32])
            for _ in 0..<1000 where decoder.closed.withLock({ $0.isEmpty }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(decoder.closed.withLock { $0.map(\.transport) } == [.tcp])
        }
    }
}
