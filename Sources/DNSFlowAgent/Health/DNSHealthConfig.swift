import DNSFlowConfig
import DNSFlowCore

extension AgentConfig {
    /// `spec.agent.ebpf.dnsHealth`: `tunnel: {uniqueSubdomains, labelLength, entropyBits, tunnelTypeShare}`.
    static func parseDNSHealth(_ node: ConfigNode) throws(ConfigError) -> TunnelDetector.Thresholds {
        var health = try node.mapping()
        var thresholds = TunnelDetector.Thresholds()
        if let n = health.optional("tunnel") {
            var tunnel = try n.mapping()
            if let u = tunnel.optional("uniqueSubdomains") {
                thresholds.uniqueSubdomains = try u.integer(2...1_000_000)
            }
            if let l = tunnel.optional("labelLength") { thresholds.labelLength = try l.integer(1...63) }
            // Bits a character: a byte carries at most 8.
            if let e = tunnel.optional("entropyBits") { thresholds.entropyBits = try e.number(0...8) }
            if let t = tunnel.optional("tunnelTypeShare") { thresholds.tunnelTypeShare = try t.number(0...1) }
            try tunnel.finish()
        }
        try health.finish()
        return thresholds
    }
}
