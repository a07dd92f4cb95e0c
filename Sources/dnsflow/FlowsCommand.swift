import ArgumentParser

struct FlowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flows")
    func run() async throws {}
}
