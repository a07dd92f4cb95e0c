import DNSFlowConfig

/// `spec.agent.dnstap`: where the agent listens for resolvers' dnstap (Frame Streams).
public struct DnstapConfig: Sendable, Hashable {
    /// A unix socket path (mounted from the host into resolver pods).
    public var unixPath: String?
    /// `host:port` on TCP, e.g. `127.0.0.1:6000`.
    public var tcpHost: String?
    public var tcpPort: Int?
    /// Decoded messages waiting for the evictor's next window; beyond, frames are dropped and counted.
    public var queueSize = 65_536
    /// How long a client lookup from dnstap waits for this node's record of it; after, it goes out
    /// as a record of its own (an off-node client, or one whose packets are not watched).
    public var joinWindow: Duration = .seconds(10)
    /// Client lookups (and upstream queries) waiting for a join, at most; beyond, messages are dropped
    /// and counted.
    public var maxPending = 65_536

    public init(unixPath: String? = nil, tcpHost: String? = nil, tcpPort: Int? = nil) {
        self.unixPath = unixPath
        self.tcpHost = tcpHost
        self.tcpPort = tcpPort
    }

    init(_ node: ConfigNode) throws(ConfigError) {
        var map = try node.mapping()
        if let n = map.optional("unix") {
            let path = try n.string()
            guard path.hasPrefix("/") else { throw n.fail("expected an absolute socket path") }
            unixPath = path
        }
        if let n = map.optional("tcp") {
            let text = try n.string()
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (1...65535).contains(port), colon != text.startIndex
            else { throw n.fail("expected host:port, e.g. 127.0.0.1:6000, got '\(text)'") }
            let host = text[..<colon]
            tcpHost = String(host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : host)
            tcpPort = port
        }
        if let n = map.optional("queueSize") { queueSize = try n.integer(1...10_000_000) }
        if let n = map.optional("joinWindow") {
            joinWindow = try n.duration()
            guard joinWindow >= .seconds(1) else { throw n.fail("expected at least 1s") }
        }
        if let n = map.optional("maxPending") { maxPending = try n.integer(1...10_000_000) }
        guard unixPath != nil || tcpHost != nil else { throw node.fail("set unix, tcp or both") }
        try map.finish()
    }
}
