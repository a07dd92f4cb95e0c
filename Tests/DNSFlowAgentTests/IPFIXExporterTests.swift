import DNSFlowAgent
import DNSFlowCore
import DNSFlowIPFIX
import Logging
import NIOCore
import NIOPosix
import Testing

/// Hands every inbound message, with the channel it came on, to the test.
private final class Forward<Message: Sendable>: ChannelInboundHandler, Sendable {
    typealias InboundIn = Message
    let sink: AsyncStream<(any Channel, Message)>.Continuation

    init(_ sink: AsyncStream<(any Channel, Message)>.Continuation) { self.sink = sink }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sink.yield((context.channel, unwrapInboundIn(data)))
    }
}

@Suite(.timeLimit(.minutes(1))) struct IPFIXExporterTests {
    private let group = MultiThreadedEventLoopGroup.singleton
    private let logger = Logger(label: "test.ipfix")

    private func records(_ count: Int, from port: UInt16) -> [FlowRecord] {
        (0..<count).map { index in
            FlowRecord(
                srcAddr: "10.0.0.\(index % 250 + 1)", dstAddr: "10.96.0.10", srcPort: port + UInt16(index), dstPort: 53,
                proto: 17, etype: 0x0800, bytes: 100, packets: 2, timeFlowStartMs: 1_763_812_800_000,
                timeFlowEndMs: 1_763_812_800_002, interfaces: ["eth0"], ifDirections: [1], flags: 0, netNs: 1,
                nodeName: "node", dnsId: UInt16(index), dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError",
                dnsLatencyMs: 0.5, dnsName: "svc\(index).example", dnsQType: "A", dnsErrno: 0)
        }
    }

    /// Runs the exporter while `body` talks to it, then stops it.
    private func withExporter(
        _ config: IPFIXExporterConfig, _ body: (IPFIXExporter) async throws -> Void
    ) async throws {
        let exporter = IPFIXExporter(config: config, group: group, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await exporter.run() }
            try await body(exporter)
            tasks.cancelAll()
        }
    }

    @Test func udpSendsTemplatesFirstAndMessagesUnderTheCap() async throws {
        let (datagrams, sink) = AsyncStream<(any Channel, AddressedEnvelope<ByteBuffer>)>.makeStream()
        let server = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(Forward(sink)) }
            .bind(host: "127.0.0.1", port: 0).get()
        let config = IPFIXExporterConfig(targetPort: server.localAddress!.port!, transport: .udp)
        let sent = records(300, from: 20000)
        try await withExporter(config) { exporter in
            exporter.enqueue(sent)
            var decoder = IPFIXDecoder()
            var received: [FlowRecord] = []
            var first = true
            for await (_, envelope) in datagrams {
                let message = Array(buffer: envelope.data)
                #expect(message.count <= 1400)
                let decoded = try decoder.decode(message, exporter: "\(envelope.remoteAddress)")
                if first { #expect(!decoded.templateIds.isEmpty) }
                first = false
                received += decoded.records
                if received.count == sent.count { break }
            }
            #expect(received == sent)
            #expect(exporter.sentRecords == sent.count)
            #expect(exporter.droppedRecords == 0)
        }
        try await server.close()
    }

    @Test func fullBufferDropsTheOldestAndCountsThem() async throws {
        // Nothing runs the exporter, so nothing drains the buffer.
        let exporter = IPFIXExporter(
            config: IPFIXExporterConfig(targetPort: 9, maxBufferedRecords: 10), group: group, logger: logger)
        exporter.enqueue(records(25, from: 1000))
        #expect(exporter.droppedRecords == 15)
        #expect(exporter.sentRecords == 0)
    }

    @Test func tcpReconnectsAndResendsTemplatesAfterTheCollectorRestarts() async throws {
        let (chunks, sink) = AsyncStream<(any Channel, ByteBuffer)>.makeStream()
        func listen(port: Int) async throws -> any Channel {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { $0.pipeline.addHandler(Forward(sink)) }
                .bind(host: "127.0.0.1", port: port).get()
        }
        var server = try await listen(port: 0)
        let port = server.localAddress!.port!
        let config = IPFIXExporterConfig(
            targetPort: port, transport: .tcp, maxReconnectDelay: .milliseconds(400))
        let before = records(50, from: 30000)
        let after = records(70, from: 40000)

        try await withExporter(config) { exporter in
            var iterator = chunks.makeAsyncIterator()
            /// Decodes one connection's stream with a fresh decoder, so its templates must come first.
            func receive(_ count: Int) async throws -> (records: [FlowRecord], connection: any Channel) {
                var framer = IPFIXStreamFramer()
                var decoder = IPFIXDecoder()
                var received: [FlowRecord] = []
                while received.count < count, let (channel, chunk) = await iterator.next() {
                    framer.append(chunk.readableBytesView)
                    while let message = try framer.next() {
                        received += try decoder.decode(message, exporter: "tcp").records
                    }
                    if received.count == count { return (received, channel) }
                }
                Issue.record("stream ended after \(received.count) of \(count) records")
                throw CancellationError()
            }

            exporter.enqueue(before)
            let first = try await receive(before.count)
            #expect(first.records == before)

            // The collector goes away; records enqueued meanwhile wait in the buffer.
            try await server.close()
            try await first.connection.close()
            try await Task.sleep(for: .milliseconds(200))
            exporter.enqueue(after)
            try await Task.sleep(for: .milliseconds(300))
            server = try await listen(port: port)

            let second = try await receive(after.count)
            #expect(second.records == after)
            #expect(second.connection !== first.connection)
            #expect(exporter.sentRecords == before.count + after.count)
        }
        try await server.close()
    }
}
