import ArgumentParser

struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "collector")
    func run() async throws {}
}
