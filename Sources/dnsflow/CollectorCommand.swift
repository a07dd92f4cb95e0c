import ArgumentParser
import DNSFlowCollector
import Foundation
import Logging
import ServiceLifecycle

struct CollectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collector",
        abstract: "Receive flows (HTTP JSON, IPFIX), store them, and serve the query API and the page."
    )

    @Option(help: "YAML config file; flags override it.")
    var config: String?

    @Option(help: "HTTP listen address (default 0.0.0.0:9000).")
    var listen: String?

    @Option(help: "IPFIX listen address (default 0.0.0.0:4739).")
    var ipfix: String?

    @Option(help: "SQLite database path (default ./dnsflow.sqlite).")
    var db: String?

    @Option(
        help: "Where flows are stored: sqlite:PATH (the default, ./dnsflow.sqlite) or clickhouse://host:8123/db?user=…."
    )
    var store: String?

    func validate() throws {
        for (flag, value) in [("--listen", listen), ("--ipfix", ipfix)] {
            if let value, HostPort(value) == nil {
                throw ValidationError("\(flag): expected host:port, got \"\(value)\"")
            }
        }
        if let store {
            var settings = CollectorConfig()
            do {
                try settings.setStore(store)
            } catch {
                throw ValidationError("--store: \(error)")
            }
            if db != nil { throw ValidationError("--db and --store both name the store; give one") }
        }
    }

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let settings: CollectorConfig
        do {
            settings = try resolvedConfig()
        } catch {
            // One line, no stack trace: the message names the key and what to change.
            FileHandle.standardError.write(Data("dnsflow: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let logger = logging.bootstrap(label: "dnsflow.collector")
        let collector: Collector
        do {
            collector = try Collector(config: settings, logger: logger, ipfixDecoder: IPFIXSessions(logger: logger))
        } catch {
            FileHandle.standardError.write(Data("dnsflow: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let group = ServiceGroup(
            configuration: .init(
                services: collector.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    private func resolvedConfig() throws(CollectorError) -> CollectorConfig {
        var settings =
            try config.map { path throws(CollectorError) in try CollectorConfig.load(path: path) } ?? CollectorConfig()
        // validate() has checked the addresses and the store.
        if let listen, let value = HostPort(listen) { settings.listen = value }
        if let ipfix, let value = HostPort(ipfix) { settings.ipfix.listen = value }
        if let db { settings.db = db }
        if let store { try? settings.setStore(store) }
        return settings.withEnvironment(ProcessInfo.processInfo.environment)
    }
}
