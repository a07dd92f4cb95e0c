import DNSFlowConfig
import DNSFlowStore
import Foundation

/// `host:port`; IPv6 hosts in brackets (`[::1]:9000`).
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct CollectorConfig: Sendable, Hashable {
    public enum Transport: String, Sendable, Hashable, CaseIterable {
        case udp = "UDP"
        case tcp = "TCP"
    }

    public struct IPFIX: Sendable, Hashable {
        public var listen = HostPort(host: "0.0.0.0", port: 4739)
        public var transports: Set<Transport> = [.udp, .tcp]
        public init() {}
    }

    public var listen = HostPort(host: "0.0.0.0", port: 9000)
    public var ipfix = IPFIX()
    /// The SQLite file, unless `clickHouse` is set.
    public var db = "./dnsflow.sqlite"
    /// When set, flows go to ClickHouse instead of SQLite and the collector keeps no state of its own.
    public var clickHouse: ClickHouseEndpoint?
    public var retention: Duration = .seconds(24 * 3600)
    /// Empty or nil: no authentication.
    public var authToken: String?
    /// Batches (one per HTTP request or IPFIX message) that may wait for the database writer.
    public var queueSize = 1024

    public init() {}

    /// The token from the config, else from `DNSFLOW_TOKEN`.
    public func withEnvironment(_ environment: [String: String]) -> CollectorConfig {
        var config = self
        config.authToken = BearerToken.resolve(authToken, environment: environment)
        return config
    }

    public static func load(path: String) throws(CollectorError) -> CollectorConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .configFile(path, underlying: error)
        }
        return try parse(yaml: text)
    }

    /// Reads the YAML, rejecting unknown keys and bad values with the key path that holds them.
    public static func parse(yaml: String) throws(CollectorError) -> CollectorConfig {
        do {
            return try parse(ConfigNode(yaml: yaml))
        } catch {
            throw .config(error.path.isEmpty ? "(document)" : error.path, error.reason, underlying: error)
        }
    }

    private static func parse(_ root: ConfigNode) throws(ConfigError) -> CollectorConfig {
        var config = CollectorConfig()
        var top = try root.mapping()
        if let node = top.optional("listen") { config.listen = try hostPort(node) }
        if let node = top.optional("db") {
            config.db = try node.string()
            guard !config.db.isEmpty else { throw node.fail("must not be empty") }
        }
        if let node = top.optional("store") {
            guard config.db == CollectorConfig().db else {
                throw node.fail("db and store both name the store; give one")
            }
            let text = try node.string()
            do {
                try config.setStore(text)
            } catch {
                throw node.fail(error.description)
            }
        }
        if let node = top.optional("retention") { config.retention = try node.duration() }
        if let node = top.optional("ipfix") {
            var ipfix = try node.mapping()
            if let listen = ipfix.optional("listen") { config.ipfix.listen = try hostPort(listen) }
            if let list = ipfix.optional("transport") {
                config.ipfix.transports = try Set(
                    list.sequence().map { item throws(ConfigError) in
                        let text = try item.string()
                        guard let transport = Transport(rawValue: text.uppercased()) else {
                            throw item.fail("unknown transport '\(text)' (expected UDP or TCP)")
                        }
                        return transport
                    })
            }
            try ipfix.finish()
        }
        if let node = top.optional("auth") {
            var auth = try node.mapping()
            if let token = auth.optional("token") { config.authToken = try token.string() }
            try auth.finish()
        }
        if let node = top.optional("ingest") {
            var ingest = try node.mapping()
            if let size = ingest.optional("queueSize") { config.queueSize = try size.integer(1...1_000_000) }
            try ingest.finish()
        }
        try top.finish()
        return config
    }

    /// `sqlite:PATH` or `clickhouse://host:port/db?user=…`, the `store` key's and the `--store` flag's syntax.
    public mutating func setStore(_ text: String) throws(ClickHouseEndpointError) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw ClickHouseEndpointError("sqlite: needs a path, as in sqlite:./dnsflow.sqlite")
            }
            db = path
            clickHouse = nil
        } else if text.hasPrefix("clickhouse:") {
            clickHouse = try ClickHouseEndpoint(url: text)
        } else {
            throw ClickHouseEndpointError("expected sqlite:PATH or clickhouse://host:port/database, got '\(text)'")
        }
    }

    private static func hostPort(_ node: ConfigNode) throws(ConfigError) -> HostPort {
        let text = try node.string()
        guard let value = HostPort(text) else { throw node.fail("expected host:port, got '\(text)'") }
        return value
    }
}
