import ArgumentParser

@main
struct DNSFlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnsflow",
        abstract: "Network flows enriched with DNS, from eBPF.",
        subcommands: [UpCommand.self, AgentCommand.self, CollectorCommand.self, FlowsCommand.self]
    )

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exitAfterReporting(error)
        }
    }
}
