import DNSFlowAgent
import DNSFlowCore
import DNSFlowIPFIX
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
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
    /// A group of its own: other suites running in parallel must not delay these channels.
    private static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    private let group = Self.eventLoops
    private let logger = Logger(label: "test.ipfix")

    private func records(_ count: Int, from port: UInt16) -> [FlowRecord] {
        (0..<count).map { index in
            FlowRecord(
                srcAddr: IPAddress(ipv4: 10, 0, 0, UInt8(index % 250 + 1)), dstAddr: "10.96.0.10",
                srcPort: port + UInt16(index), dstPort: 53,
                proto: 17, etype: 0x0800, bytes: 100, packets: 2, timeFlowStartMs: 1_763_812_800_000,
                timeFlowEndMs: 1_763_812_800_002, interfaces: ["eth0"], ifDirections: [1], flags: 0, netNs: 1,
                nodeName: "node", dnsId: UInt16(index), dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError",
                dnsLatencyNs: 500_000, dnsName: "svc\(index).example", dnsQType: "A", dnsErrno: 0)
        }
    }

    /// Every other record a DNS transaction with a stage, answers and who asked.
    private func mixed(_ count: Int, from port: UInt16) -> [FlowRecord] {
        records(count, from: port).enumerated().map { index, record in
            guard index % 2 == 1 else { return record }
            var transaction = record
            transaction.recordType = .dnsTransaction
            transaction.dnsStages = [
                DNSStage(netNs: 1, interface: "eth0", serverAddr: "10.96.0.10", serverPort: 53, latencyNs: 500_000)
            ]
            transaction.dnsAnswers = DNSAnswers(addresses: ["10.9.9.9"], cnames: ["web.example"], ttl: 30)
            transaction.requester = Requester(pid: 42, comm: "dig", cgroupId: 7)
            return transaction
        }
    }

    /// The exporter counts a record as sent when the write completes, which can be after the
    /// collector has read it; give the count a moment to catch up.
    private func sentCount(_ exporter: IPFIXExporter, reaches count: Int) async throws -> Int {
        for _ in 0..<100 where exporter.sentRecords < count { try await Task.sleep(for: .milliseconds(10)) }
        return exporter.sentRecords
    }

    /// Runs the exporter while `body` talks to it, then stops it.
    private func withExporter(
        _ config: IPFIXExporterConfig, clock: ManualClock = ManualClock(), _ body: (IPFIXExporter) async throws -> Void
    ) async throws {
        let exporter = IPFIXExporter(config: config, group: group, clock: clock, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await exporter.run() }
            try await body(exporter)
            tasks.cancelAll()
        }
    }

    private typealias Datagrams = AsyncStream<(any Channel, AddressedEnvelope<ByteBuffer>)>

    private func udpCollector() async throws -> (server: any Channel, datagrams: Datagrams) {
        let (datagrams, sink) = Datagrams.makeStream()
        let server = try await DatagramBootstrap(group: group)
            .channelInitializer { $0.pipeline.addHandler(Forward(sink)) }
            .bind(host: "127.0.0.1", port: 0).get()
        return (server, datagrams)
    }

    /// Reads datagrams until `count` records decoded; returns them and each datagram's template ids.
    private func receive(
        _ count: Int, from datagrams: inout Datagrams.AsyncIterator, decoder: inout IPFIXDecoder
    ) async throws -> (records: [FlowRecord], templateIds: [[UInt16]]) {
        var records: [FlowRecord] = []
        var templateIds: [[UInt16]] = []
        while records.count < count, let (_, envelope) = await datagrams.next() {
            let message = Array(buffer: envelope.data)
            #expect(message.count <= 1400)
            let decoded = try decoder.decode(message, exporter: "\(envelope.remoteAddress)")
            records += decoded.records
            templateIds.append(decoded.templateIds)
        }
        return (records, templateIds)
    }

    @Test func udpResendsTemplatesOnlyAfterTheRefreshInterval() async throws {
        let (server, datagrams) = try await udpCollector()
        let config = IPFIXExporterConfig(
            targetPort: server.localAddress!.port!, transport: .udp, templateRefresh: .seconds(3))
        let clock = ManualClock()
        try await withExporter(config, clock: clock) { exporter in
            var iterator = datagrams.makeAsyncIterator()
            var decoder = IPFIXDecoder()
            exporter.enqueue(records(5, from: 0))
            let first = try await receive(5, from: &iterator, decoder: &decoder)
            // The templates, in the first messages before any data.
            #expect(first.templateIds.prefix(2).flatMap { $0 } == Array(256...265))
            exporter.enqueue(records(5, from: 100))
            let soon = try await receive(5, from: &iterator, decoder: &decoder)
            #expect(soon.templateIds.allSatisfy { $0.isEmpty })
            clock.advance(by: .milliseconds(3100))
            exporter.enqueue(records(5, from: 200))
            // A collector that just started (fresh decoder) can decode right after the refresh.
            var restarted = IPFIXDecoder()
            let later = try await receive(5, from: &iterator, decoder: &restarted)
            #expect(later.records == records(5, from: 200))
        }
        try await server.close()
    }

    @Test func gracefulShutdownFlushesTheBuffer() async throws {
        let (server, datagrams) = try await udpCollector()
        let exporter = IPFIXExporter(
            config: IPFIXExporterConfig(targetPort: server.localAddress!.port!), group: group, logger: logger)
        let sent = records(40, from: 5000)
        exporter.enqueue(sent)
        let services = ServiceGroup(services: [exporter], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        var iterator = datagrams.makeAsyncIterator()
        var decoder = IPFIXDecoder()
        let received = try await receive(sent.count, from: &iterator, decoder: &decoder)
        #expect(received.records == sent)
        #expect(exporter.sentRecords == sent.count)
        try await server.close()
    }

    @Test func udpSendsTemplatesFirstAndMessagesUnderTheCap() async throws {
        let (server, datagrams) = try await udpCollector()
        let config = IPFIXExporterConfig(targetPort: server.localAddress!.port!, transport: .udp)
        let sent = mixed(300, from: 20000)
        try await withExporter(config) { exporter in
            exporter.enqueue(sent)
            var iterator = datagrams.makeAsyncIterator()
            var decoder = IPFIXDecoder()
            let received = try await receive(sent.count, from: &iterator, decoder: &decoder)
            #expect(received.records == sent)
            #expect(received.templateIds.first?.isEmpty == false)
            #expect(received.templateIds.count > 300 / 20)
            #expect(try await sentCount(exporter, reaches: sent.count) == sent.count)
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
        // A port below the ephemeral range (32768+), and apart from the other tests' ports: the
        // exporter's reconnects come from ephemeral ports, so they can never self-connect to it.
        var server = try await {
            for _ in 0..<20 {
                if let channel = try? await listen(port: Int.random(in: 10_000...19_999)) { return channel }
            }
            return try await listen(port: Int.random(in: 10_000...19_999))
        }()
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
            try await first.connection.close()
            try await server.close()
            // IPFIX over TCP has no acknowledgements: a batch written before the exporter has read
            // the FIN is lost, as with any TCP flow exporter. Give it time to see the close, even
            // on a loaded machine; then what is enqueued waits in the buffer.
            try await Task.sleep(for: .seconds(1))
            exporter.enqueue(after)
            try await Task.sleep(for: .milliseconds(300))
            // The exporter keeps reconnecting meanwhile; retry the bind in case the old socket lingers.
            server = try await {
                for _ in 0..<50 {
                    if let channel = try? await listen(port: port) { return channel }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return try await listen(port: port)
            }()

            let second = try await receive(after.count)
            #expect(second.records == after)
            #expect(second.connection !== first.connection)
            #expect(try await sentCount(exporter, reaches: before.count + after.count) == before.count + after.count)
        }
        try await server.close()
    }
}
