import ArgumentParser
import DNSFlowAgent
import DNSFlowCollector
import DNSFlowCore
import Foundation
import Logging
import ServiceLifecycle

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run the collector and the agent in one process; the page is on --listen.",
        discussion: """
            The agent exports to the in-process collector (and to the exporters of --config, if given). \
            With --lab, a lab of network namespaces with a real DNS server (dnsmasq) and clients that \
            resolve names at a steady rate (some NXDOMAIN, some slow, some over TCP) is built first and \
            torn down on exit; its traffic never leaves the machine.
            """
    )

    @Option(name: .long, help: "An agent FlowCollector YAML; default: DNSTracking on, flows every 5s.")
    var config: String?

    @Option(name: .long, help: "HTTP address of the page and API.")
    var listen: String = "127.0.0.1:9000"

    @Option(name: .long, help: "The SQLite file.")
    var db: String = "./dnsflow.sqlite"

    @Flag(name: .long, help: "Also build a lab of DNS traffic in network namespaces.")
    var lab = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "dnsflow.up")
        var agentConfig = AgentConfig()
        if let config {
            agentConfig = try loadAgentConfig(path: config)
        } else {
            agentConfig.features = [.dnsTracking]
        }
        var collectorConfig = CollectorConfig()
        guard let address = HostPort(listen) else {
            throw CLIError(status: 2, message: "--listen: expected host:port, got '\(listen)'")
        }
        collectorConfig.listen = address
        collectorConfig.db = db
        collectorConfig.ipfix.transports = []
        collectorConfig = collectorConfig.withEnvironment(ProcessInfo.processInfo.environment)

        let collector: Collector
        do {
            collector = try Collector(
                config: collectorConfig, logger: logger, ipfixDecoder: IPFIXSessions(logger: logger))
        } catch {
            throw CLIError(status: 1, message: "dnsflow up: \(error)")
        }
        let labService = lab ? try DNSLab.start(logger: logger) : nil
        let agent: Agent
        do {
            agent = try startAgent(
                config: agentConfig, nodeName: nil, extraExporters: [CollectorExporter(collector: collector)],
                logger: logger)
        } catch {
            labService?.stop()
            throw error
        }
        logger.info("dnsflow is up", metadata: ["dnsflow.page": "http://\(address)/", "dnsflow.lab": "\(lab)"])
        // Stopped in reverse: the lab first, then the agent flushes into the collector, which drains last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] =
            (collector.services + agent.services).map { .init(service: $0) }
        if let labService { services.append(.init(service: labService)) }
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            labService?.stop()
            throw error
        }
    }
}

/// Hands the agent's records to the collector in the same process.
struct CollectorExporter: FlowExporter {
    let name = "collector"
    let collector: Collector

    func enqueue(_ records: [FlowRecord]) {
        collector.ingest(records)
    }

    func run() async throws {
        try await gracefulShutdown()
    }
}
