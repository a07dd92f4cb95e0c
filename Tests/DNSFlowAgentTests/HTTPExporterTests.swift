import DNSFlowAgent
import DNSFlowCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// A flow receiver on loopback: keeps each POST's headers and body, and answers with the status
/// `answer` gives for the request's number (from 0).
private struct Receiver: Sendable {
    struct Request: Sendable {
        var headers: HTTPHeaders
        var body: [UInt8]
        /// The records in the body's JSON array.
        var recordCount: Int {
            ((try? JSONSerialization.jsonObject(with: Data(body))) as? [Any])?.count ?? -1
        }
    }

    private final class Log: Sendable {
        let requests = Mutex<[Request]>([])
        let answer: @Sendable (Int) -> HTTPResponseStatus

        init(answer: @escaping @Sendable (Int) -> HTTPResponseStatus) { self.answer = answer }

        /// Keeps the request; returns the status to answer it with.
        func receive(_ request: Request) -> HTTPResponseStatus {
            answer(
                requests.withLock { requests in
                    requests.append(request)
                    return requests.count - 1
                })
        }
    }

    private let log: Log
    let channel: any Channel

    init(group: any EventLoopGroup, answer: @escaping @Sendable (Int) -> HTTPResponseStatus = { _ in .ok }) async throws
    {
        let log = Log(answer: answer)
        self.log = log
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(log: log))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    var url: String { "http://127.0.0.1:\(channel.localAddress!.port!)/api/v1/flows" }
    var received: [Request] { log.requests.withLock { $0 } }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let log: Log
        var request = Request(headers: [:], body: [])

        init(log: Log) { self.log = log }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                request = Request(headers: head.headers, body: [])
            case .body(let chunk):
                request.body += chunk.readableBytesView
            case .end:
                let head = HTTPResponseHead(
                    version: .http1_1, status: log.receive(request), headers: ["Content-Length": "0"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}

@Suite(.timeLimit(.minutes(1))) struct HTTPExporterTests {
    private static let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let logger = Logger(label: "test.http")

    /// Runs the exporter in a service group while `body` runs, then shuts the group down.
    private func run(_ exporter: HTTPExporter, _ body: () async throws -> Void = {}) async throws {
        let group = ServiceGroup(services: [exporter], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test func batchesArePostedAsJSONArraysWithTheToken() async throws {
        let receiver = try await Receiver(group: Self.eventLoops)
        var config = HTTPExporterConfig(url: receiver.url)
        config.batchSize = 40
        config.token = "s3cret"
        let exporter = HTTPExporter(config: config, logger: logger)
        try await run(exporter) {
            exporter.enqueue(Samples.records(100))
            try await waitUntil { exporter.sentRecords == 100 }
        }
        let requests = receiver.received
        #expect(requests.map(\.recordCount).sorted() == [20, 40, 40])
        #expect(requests.allSatisfy { $0.headers["Authorization"] == ["Bearer s3cret"] })
        #expect(requests.allSatisfy { $0.headers["Content-Type"] == ["application/json"] })
        #expect(exporter.sentRecords == 100)
        #expect(exporter.droppedRecords == 0)
        try await receiver.channel.close()
    }

    @Test func aRefusedBatchIsSentAgain() async throws {
        // The first request is refused; the batch goes back to the buffer and out again.
        let receiver = try await Receiver(group: Self.eventLoops) { $0 == 0 ? .serviceUnavailable : .ok }
        let exporter = HTTPExporter(config: HTTPExporterConfig(url: receiver.url), logger: logger)
        try await run(exporter) {
            exporter.enqueue(Samples.records(30))
            try await waitUntil { exporter.sentRecords == 30 }
            #expect(exporter.sentRecords == 30, "retried before shutdown, not only by its flush")
        }
        #expect(receiver.received.map(\.recordCount) == [30, 30])
        #expect(exporter.sentRecords == 30)
        #expect(exporter.droppedRecords == 0)
        try await receiver.channel.close()
    }

    @Test func shutdownWithTheReceiverGoneDropsAndCountsWhatIsLeft() async throws {
        let receiver = try await Receiver(group: Self.eventLoops) { _ in .internalServerError }
        var config = HTTPExporterConfig(url: receiver.url)
        config.batchSize = 10
        let exporter = HTTPExporter(config: config, logger: logger)
        exporter.enqueue(Samples.records(25))
        try await run(exporter)
        #expect(exporter.sentRecords == 0)
        #expect(exporter.droppedRecords == 25)
        try await receiver.channel.close()
    }
}
