import ArgumentParser
import DNSFlowAgent
import DNSFlowProbe
import Foundation
import Logging
import Prometheus
import ServiceLifecycle

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the per-node agent: trace packets with eBPF, export DNS-enriched flows."
    )

    @Option(name: .long, help: "The FlowCollector YAML file.")
    var config: String = "config/flowcollector.yaml"

    @Option(name: .long, help: "The node name put in every record (default: $NODE_NAME, else the host name).")
    var nodeName: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "dnsflow.agent")
        let agentConfig = try loadAgentConfig(path: config)
        let agent = try startAgent(config: agentConfig, nodeName: nodeName, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: agent.services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("Detached; bye")
    }
}

/// Reads and checks the agent's config; a bad one exits 2 with one line naming the key.
func loadAgentConfig(path: String) throws -> AgentConfig {
    let text: String
    do {
        text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
        throw CLIError(status: 2, message: "config: cannot read \(path): \(error.localizedDescription)")
    }
    do {
        return try AgentConfig(yaml: text)
    } catch {
        throw CLIError(status: 2, message: "\(path): \(error)")
    }
}

func startAgent(
    config: AgentConfig, nodeName: String?, extraExporters: [any FlowExporter] = [], logger: Logger
) throws -> Agent {
    let node = nodeName ?? ProcessInfo.processInfo.environment["NODE_NAME"] ?? ProcessInfo.processInfo.hostName
    // DNS over TCP attaches cgroup_skb programs, which takes CAP_NET_ADMIN.
    if let refusal = Capabilities.current().refusal(
        attachesCgroup: config.probeSettings.dnsTracking && config.dnsOverTCP)
    {
        throw CLIError(status: 1, message: "dnsflow agent: \(refusal)")
    }
    do {
        return try Agent(
            config: config, nodeName: node, extraExporters: extraExporters, metrics: PrometheusCollectorRegistry(),
            logger: logger)
    } catch let error as ProbeError {
        throw CLIError(status: 1, message: "dnsflow agent: \(error)")
    }
}
