import ArgumentParser

@main
struct DNSFlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnsflow",
        abstract: "Network flows enriched with DNS, from eBPF.",
        subcommands: [AgentCommand.self, CollectorCommand.self, FlowsCommand.self]
    )
}
