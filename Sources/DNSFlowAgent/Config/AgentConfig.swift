import DNSFlowConfig
import DNSFlowCore
import DNSFlowProbe

/// The agent's settings, read from FlowCollector-style YAML (see config/flowcollector.yaml).
public struct AgentConfig: Sendable {
    public enum Feature: String, Sendable, CaseIterable {
        case dnsTracking = "DNSTracking"
        /// Search-path resolutions, retries, socket health and tunnelling (DNS health).
        case dnsHealth = "DNSHealth"
        /// Cache hit or miss and upstream time: linked from packets, and from dnstap with `dnstap`.
        case dnsServerSide = "DNSServerSide"
        /// DNS packets the kernel drops (`tp_btf/kfree_skb`), with the reason, on their transactions.
        case packetDrop = "PacketDrop"
    }

    public enum Exporter: Sendable {
        case http(HTTPExporterConfig)
        case ipfix(IPFIXExporterConfig)
        case stdout
    }

    public var sampling: UInt32 = 1
    public var cacheActiveTimeout: Duration = .seconds(5)
    public var cacheMaxFlows: UInt32 = 100_000
    public var interfaces = InterfaceFilter()
    public var features: Set<Feature> = []
    public var dnsPorts: [UInt16] = [53]
    public var dnsTimeout: Duration = .seconds(5)
    public var dnsOverTCP = true
    /// `dnsTracking.answers`: decode the answer section of each response.
    public var dnsAnswers = true
    public var dnsMaxPending: UInt32 = 16_384
    /// (client, answer address) pairs remembered for flows' `DstDnsName`: ~300 bytes each with its
    /// name, so ~5 MiB when full at the default.
    public var resolvedNames = 16_384
    public var tracepoints: ProbeSettings.Tracepoints = .auto
    public var pendingTable: ProbeSettings.PendingTable = .auto
    public var metricsPort: UInt16 = 9401
    public var exporters: [Exporter] = []
    public var kubernetes = KubernetesSettings()
    /// `dnsHealth.tunnel`: when `DNSHealth` flags a client as tunnelling.
    public var tunnelThresholds = TunnelDetector.Thresholds()
    /// `spec.agent.dnstap`: listen for resolvers' dnstap (with the DNSServerSide feature).
    public var dnstap: DnstapConfig?

    public init() {}

    public var probeSettings: ProbeSettings {
        ProbeSettings(
            sampling: sampling, dnsTracking: features.contains(.dnsTracking), answers: dnsAnswers,
            dnsOverTCP: dnsOverTCP,
            dnsPorts: dnsPorts,
            maxFlows: cacheMaxFlows, maxPendingQueries: dnsMaxPending, tracepoints: tracepoints,
            pendingTable: pendingTable, packetDrops: features.contains(.packetDrop))
    }

    /// Parses the YAML; every error names the key path and the reason.
    public init(yaml: String) throws(ConfigError) {
        var root = try ConfigNode(yaml: yaml).mapping()
        if let version = root.optional("apiVersion"), try version.string() != "dnsflow.io/v1alpha1" {
            throw version.fail("expected dnsflow.io/v1alpha1")
        }
        if let kind = root.optional("kind"), try kind.string() != "FlowCollector" {
            throw kind.fail("expected FlowCollector")
        }
        _ = root.optional("metadata")
        var spec = try root.required("spec").mapping()
        if let agentNode = spec.optional("agent") {
            var agent = try agentNode.mapping()
            if let type = agent.optional("type"), try type.string() != "eBPF" {
                throw type.fail("only eBPF is supported")
            }
            if let ebpf = agent.optional("ebpf") { try parseEBPF(ebpf) }
            if let metricsNode = agent.optional("metrics") {
                var metrics = try metricsNode.mapping()
                if let port = metrics.optional("port") { metricsPort = try port.integer(1...65535) }
                try metrics.finish()
            }
            if let n = agent.optional("kubernetes") { kubernetes = try KubernetesSettings(n) }
            if let n = agent.optional("dnstap") {
                dnstap = try DnstapConfig(n)
                guard features.contains(.dnsServerSide) else {
                    throw n.fail("needs DNSServerSide in spec.agent.ebpf.features")
                }
            }
            try agent.finish()
        }
        if let list = spec.optional("exporters") {
            exporters = try list.sequence().map { node throws(ConfigError) in try Self.parseExporter(node) }
        }
        try spec.finish()
        try root.finish()
    }

    private mutating func parseEBPF(_ node: ConfigNode) throws(ConfigError) {
        var ebpf = try node.mapping()
        if let n = ebpf.optional("sampling") { sampling = try n.integer(1...UInt32.max) }
        if let n = ebpf.optional("cacheActiveTimeout") { cacheActiveTimeout = try n.duration() }
        if let n = ebpf.optional("cacheMaxFlows") { cacheMaxFlows = try n.integer(1...50_000_000) }
        if let n = ebpf.optional("interfaces") { interfaces.include = try InterfaceFilter.patterns(n) }
        if let n = ebpf.optional("excludeInterfaces") { interfaces.exclude = try InterfaceFilter.patterns(n) }
        if let n = ebpf.optional("features") {
            for item in try n.sequence() {
                let name = try item.string()
                guard let feature = Feature(rawValue: name) else {
                    let known = Feature.allCases.map(\.rawValue).joined(separator: ", ")
                    throw item.fail("unknown feature '\(name)' (known: \(known))")
                }
                features.insert(feature)
            }
            if features.contains(.packetDrop) && !features.contains(.dnsTracking) {
                throw n.fail("PacketDrop needs DNSTracking: drops are followed for DNS packets only")
            }
        }
        if let n = ebpf.optional("dnsTracking") {
            var dns = try n.mapping()
            if let ports = dns.optional("ports") {
                dnsPorts = try ports.sequence().map { port throws(ConfigError) in try port.integer(1...65535) }
                guard !dnsPorts.isEmpty, dnsPorts.count <= 8 else { throw ports.fail("list 1 to 8 ports") }
            }
            if let t = dns.optional("timeout") { dnsTimeout = try t.duration() }
            if let t = dns.optional("tcp") { dnsOverTCP = try t.bool() }
            if let a = dns.optional("answers") { dnsAnswers = try a.bool() }
            if let m = dns.optional("maxPending") { dnsMaxPending = try m.integer(16...10_000_000) }
            if let n = dns.optional("pendingTable") { pendingTable = try n.choice() }
            if let n = dns.optional("resolvedNames") { resolvedNames = try n.integer(1...16_777_216) }
            try dns.finish()
        }
        if let n = ebpf.optional("tracepoints") { tracepoints = try n.choice() }
        if let n = ebpf.optional("dnsHealth") { tunnelThresholds = try Self.parseDNSHealth(n) }
        try ebpf.finish()
    }

    private static func parseExporter(_ node: ConfigNode) throws(ConfigError) -> Exporter {
        var exporter = try node.mapping()
        let typeNode = try exporter.required("type")
        let type = try typeNode.string()
        let result: Exporter
        switch type {
        case "HTTP":
            var http = try exporter.required("http").mapping()
            let urlNode = try http.required("url")
            var config = try HTTPExporterConfig(url: urlNode.string(), at: urlNode)
            if let n = http.optional("batchSize") { config.batchSize = try n.integer(1...1_000_000) }
            if let n = http.optional("bufferSize") { config.bufferSize = try n.integer(1...100_000_000) }
            if let n = http.optional("timeout") { config.timeout = try n.duration() }
            try http.finish()
            result = .http(config)
        case "IPFIX":
            result = .ipfix(try parseIPFIX(exporter.required("ipfix")))
        case "Stdout":
            result = .stdout
        default:
            throw typeNode.fail("unknown exporter type '\(type)' (known: HTTP, IPFIX, Stdout)")
        }
        try exporter.finish()
        return result
    }
}

private func parseIPFIX(_ node: ConfigNode) throws(ConfigError) -> IPFIXExporterConfig {
    var ipfix = try node.mapping()
    var config = IPFIXExporterConfig()
    let host = try ipfix.required("targetHost")
    config.targetHost = try host.string()
    guard !config.targetHost.isEmpty else { throw host.fail("must not be empty") }
    if let n = ipfix.optional("targetPort") { config.targetPort = try n.integer(1...65535) }
    if let n = ipfix.optional("transport") {
        let text = try n.string()
        guard let transport = IPFIXExporterConfig.Transport(rawValue: text.uppercased()) else {
            throw n.fail("expected UDP or TCP, got '\(text)'")
        }
        config.transport = transport
    }
    if let n = ipfix.optional("enterpriseId") { config.enterpriseId = try n.integer(1...UInt32.max) }
    if let n = ipfix.optional("templateRefresh") { config.templateRefresh = try n.duration() }
    if let n = ipfix.optional("bufferSize") { config.maxBufferedRecords = try n.integer(1...100_000_000) }
    try ipfix.finish()
    return config
}

/// Which interfaces' records are exported: by name or /regex/; empty `include` means all.
public struct InterfaceFilter: Sendable {
    public enum Pattern: Sendable, CustomStringConvertible {
        case name(String)
        case regex(String)

        func matches(_ interface: String) -> Bool {
            switch self {
            case .name(let name): return name == interface
            // Validated when parsed; Regex is not Sendable, so the source is kept (and callers memoize).
            case .regex(let source): return (try? Regex(source).wholeMatch(in: interface)) != nil
            }
        }

        public var description: String {
            switch self {
            case .name(let name): name
            case .regex(let source): "/\(source)/"
            }
        }
    }

    public var include: [Pattern] = []
    public var exclude: [Pattern] = []

    public init(include: [Pattern] = [], exclude: [Pattern] = []) {
        self.include = include
        self.exclude = exclude
    }

    public var isEmpty: Bool { include.isEmpty && exclude.isEmpty }

    /// A record passes if one of its interfaces is included and not excluded. `verdicts` remembers
    /// each name's answer, so a window's records compile and run each pattern once per interface.
    public func admits(_ interfaces: [String], verdicts: inout [String: Bool]) -> Bool {
        interfaces.contains { name in
            if let known = verdicts[name] { return known }
            let verdict =
                (include.isEmpty || include.contains { $0.matches(name) }) && !exclude.contains { $0.matches(name) }
            verdicts[name] = verdict
            return verdict
        }
    }

    public func admits(_ interfaces: [String]) -> Bool {
        var verdicts: [String: Bool] = [:]
        return admits(interfaces, verdicts: &verdicts)
    }

    static func patterns(_ node: ConfigNode) throws(ConfigError) -> [Pattern] {
        try node.sequence().map { item throws(ConfigError) in
            let text = try item.string()
            guard text.count > 2, text.hasPrefix("/"), text.hasSuffix("/") else { return .name(text) }
            let source = String(text.dropFirst().dropLast())
            do {
                _ = try Regex(source)
            } catch {
                throw item.fail("not a valid regular expression: \(source)")
            }
            return .regex(source)
        }
    }
}
