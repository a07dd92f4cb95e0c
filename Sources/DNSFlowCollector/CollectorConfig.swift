import Foundation
import Yams

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
    public var db = "./dnsflow.sqlite"
    public var retention: Duration = .seconds(24 * 3600)
    /// Empty or nil: no authentication.
    public var authToken: String?
    /// Batches (one per HTTP request or IPFIX message) that may wait for the database writer.
    public var queueSize = 1024

    public init() {}

    /// The token from the config, else from `DNSFLOW_TOKEN`.
    public func withEnvironment(_ environment: [String: String]) -> CollectorConfig {
        var config = self
        if config.authToken?.isEmpty ?? true, let token = environment["DNSFLOW_TOKEN"], !token.isEmpty {
            config.authToken = token
        }
        return config
    }

    public static func load(path: String) throws(CollectorError) -> CollectorConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .configFile(path, "cannot read it (\(error.localizedDescription))")
        }
        return try parse(yaml: text)
    }

    /// Reads the YAML, rejecting unknown keys and bad values with the key path that holds them.
    public static func parse(yaml: String) throws(CollectorError) -> CollectorConfig {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw .config("(document)", "not valid YAML: \(error)")
        }
        var config = CollectorConfig()
        guard let root else { return config }
        let top = try ConfigNode(root, path: "").mapping(keys: ["listen", "ipfix", "db", "retention", "auth", "ingest"])
        if let node = top["listen"] { config.listen = try node.hostPort() }
        if let node = top["db"] { config.db = try node.nonEmptyString() }
        if let node = top["retention"] { config.retention = try node.duration() }
        if let ipfix = try top["ipfix"]?.mapping(keys: ["listen", "transport"]) {
            if let node = ipfix["listen"] { config.ipfix.listen = try node.hostPort() }
            if let node = ipfix["transport"] { config.ipfix.transports = try node.transports() }
        }
        if let auth = try top["auth"]?.mapping(keys: ["token"]), let node = auth["token"] {
            config.authToken = try node.string()
        }
        if let ingest = try top["ingest"]?.mapping(keys: ["queueSize"]), let node = ingest["queueSize"] {
            config.queueSize = try node.positiveInt()
        }
        return config
    }
}

/// A YAML node with the dotted key path that reached it, for error messages.
private struct ConfigNode {
    let node: Node
    let path: String

    init(_ node: Node, path: String) {
        self.node = node
        self.path = path
    }

    func mapping(keys allowed: Set<String>) throws(CollectorError) -> [String: ConfigNode] {
        guard let mapping = node.mapping else { throw .config(path.isEmpty ? "(document)" : path, "expected a mapping") }
        var out: [String: ConfigNode] = [:]
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? "\(keyNode)"
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                throw .config(keyPath, "unknown key (expected one of: \(allowed.sorted().joined(separator: ", ")))")
            }
            out[key] = ConfigNode(value, path: keyPath)
        }
        return out
    }

    func string() throws(CollectorError) -> String {
        guard let scalar = node.scalar else { throw .config(path, "expected a string") }
        return scalar.string
    }

    func nonEmptyString() throws(CollectorError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw .config(path, "must not be empty") }
        return value
    }

    func hostPort() throws(CollectorError) -> HostPort {
        let value = try string()
        guard let hostPort = HostPort(value) else { throw .config(path, "expected host:port, got \"\(value)\"") }
        return hostPort
    }

    func duration() throws(CollectorError) -> Duration {
        let value = try string()
        guard let duration = TimeSyntax.duration(value) else {
            throw .config(path, "expected a duration like 30m, 24h or 7d, got \"\(value)\"")
        }
        return duration
    }

    func positiveInt() throws(CollectorError) -> Int {
        let value = try string()
        guard let n = Int(value), n > 0 else { throw .config(path, "expected a positive integer, got \"\(value)\"") }
        return n
    }

    func transports() throws(CollectorError) -> Set<CollectorConfig.Transport> {
        guard let sequence = node.sequence else { throw .config(path, "expected a list like [UDP, TCP]") }
        var out: Set<CollectorConfig.Transport> = []
        for item in sequence {
            let value = item.string ?? ""
            guard let transport = CollectorConfig.Transport(rawValue: value.uppercased()) else {
                throw .config(path, "unknown transport \"\(value)\" (expected UDP or TCP)")
            }
            out.insert(transport)
        }
        return out
    }
}
