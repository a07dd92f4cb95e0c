import DNSFlowAgent
import DNSFlowConfig
import Foundation
import Testing

struct AgentConfigTests {
    func config(_ ebpf: String = "", exporters: String = "") throws(ConfigError) -> AgentConfig {
        try AgentConfig(
            yaml: """
                apiVersion: dnsflow.io/v1alpha1
                kind: FlowCollector
                spec:
                  agent:
                    type: eBPF
                    ebpf:
                \(ebpf.isEmpty ? "      features: [DNSTracking]" : ebpf)
                  exporters:
                    - type: Stdout
                \(exporters)
                """)
    }

    @Test func shippedConfigParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(
            path: "../../config/flowcollector.yaml")
        let parsed = try AgentConfig(yaml: String(contentsOf: url, encoding: .utf8))
        #expect(parsed.features == [.dnsTracking])
        #expect(parsed.cacheActiveTimeout == .seconds(5))
        #expect(parsed.cacheMaxFlows == 100_000)
        #expect(parsed.dnsPorts == [53])
        #expect(parsed.dnsTimeout == .seconds(5))
        #expect(parsed.exporters.count == 1)
    }

    @Test func settings() throws {
        let parsed = try config(
            """
                  features: [DNSTracking]
                  sampling: 50
                  cacheActiveTimeout: 1m30s
                  interfaces: [eth0, /veth.*/]
                  dnsTracking: {ports: [53, 5353], timeout: 250ms, pendingTable: hash, tcp: false}
            """)
        #expect(parsed.sampling == 50)
        #expect(parsed.cacheActiveTimeout == .seconds(90))
        #expect(parsed.dnsPorts == [53, 5353])
        #expect(parsed.dnsTimeout == .milliseconds(250))
        #expect(parsed.probeSettings.pendingTable == .hash && !parsed.probeSettings.dnsOverTCP)
        #expect(parsed.interfaces.admits(["veth12"]) && parsed.interfaces.admits(["eth0"]))
        #expect(!parsed.interfaces.admits(["lo"]))
    }

    @Test("dnsTracking.answers: on by default, written to the probe's settings")
    func answers() throws {
        #expect(try config("      features: [DNSTracking]").probeSettings.answers)
        #expect(try !config("      dnsTracking: {answers: false}").probeSettings.answers)
        #expect {
            _ = try config("      dnsTracking: {answers: some}")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.path == "spec.agent.ebpf.dnsTracking.answers"
                && error.reason.contains("expected true or false")
        }
    }

    @Test("dnsHealth.tunnel: every threshold a key, each bad value named by its path")
    func tunnelThresholds() throws {
        let parsed = try config(
            """
                  features: [DNSTracking, DNSHealth]
                  dnsHealth: {tunnel: {uniqueSubdomains: 50, labelLength: 30, entropyBits: 4.2, tunnelTypeShare: 0.25}}
            """)
        #expect(parsed.tunnelThresholds.uniqueSubdomains == 50 && parsed.tunnelThresholds.labelLength == 30)
        #expect(parsed.tunnelThresholds.entropyBits == 4.2 && parsed.tunnelThresholds.tunnelTypeShare == 0.25)
        #expect(try config("      features: [DNSTracking]").tunnelThresholds.entropyBits == 3.5)
        for (value, path, reason) in [
            ("{entropyBits: 9}", "entropyBits", "9 is out of range 0.0...8.0"),
            ("{entropyBits: high}", "entropyBits", "expected a number, got 'high'"),
            ("{tunnelTypeShare: 1.5}", "tunnelTypeShare", "1.5 is out of range 0.0...1.0"),
        ] {
            #expect {
                _ = try config("      dnsHealth: {tunnel: \(value)}")
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.path == "spec.agent.ebpf.dnsHealth.tunnel.\(path)" && error.reason == reason
            }
        }
    }

    @Test("PacketDrop: off by default, written to the probe's settings, and only with DNSTracking")
    func packetDrop() throws {
        #expect(try !config("      features: [DNSTracking]").probeSettings.packetDrops)
        #expect(try config("      features: [DNSTracking, PacketDrop]").probeSettings.packetDrops)
        #expect {
            _ = try config("      features: [PacketDrop]")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.path == "spec.agent.ebpf.features" && error.reason.contains("PacketDrop needs DNSTracking")
        }
    }

    @Test(arguments: [
        ("      features: [DNSTracking, Bogus]", "spec.agent.ebpf.features[1]", "unknown feature 'Bogus'"),
        ("      cacheActiveTimeout: -5s", "spec.agent.ebpf.cacheActiveTimeout", "expected a duration"),
        ("      cacheActiveTimeout: 0s", "spec.agent.ebpf.cacheActiveTimeout", "must be more than zero"),
        ("      sampling: 0", "spec.agent.ebpf.sampling", "out of range"),
        ("      dnsTracking: {ports: [70000]}", "spec.agent.ebpf.dnsTracking.ports[0]", "out of range"),
        ("      dnsTracking: {tcp: maybe}", "spec.agent.ebpf.dnsTracking.tcp", "expected true or false"),
        ("      tracepoints: fentry", "spec.agent.ebpf.tracepoints", "expected auto, btf or classic, got 'fentry'"),
        (
            "      dnsTracking: {pendingTable: lru}", "spec.agent.ebpf.dnsTracking.pendingTable",
            "expected auto, slots or hash"
        ),
        ("      cacheMaxFlow: 10", "spec.agent.ebpf.cacheMaxFlow", "unknown key"),
        ("      interfaces: ['/[/']", "spec.agent.ebpf.interfaces[0]", "not a valid regular expression"),
    ])
    func badValuesNameTheKey(line: String, path: String, reason: String) {
        #expect {
            _ = try config(line)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.path == path && error.reason.contains(reason)
        }
    }

    @Test func ipfixExporter() throws {
        let parsed = try config(
            exporters: """
                    - type: IPFIX
                      ipfix: {targetHost: 127.0.0.1, targetPort: 4739, transport: TCP, enterpriseId: 32473, templateRefresh: 60s}
                """)
        guard case .ipfix(let ipfix) = parsed.exporters.last else { Issue.record("no IPFIX exporter"); return }
        #expect(ipfix.transport == .tcp && ipfix.targetPort == 4739 && ipfix.templateRefresh == .seconds(60))
        #expect(throws: ConfigError.self) {
            _ = try config(exporters: "    - type: IPFIX\n      ipfix: {targetHost: h, transport: SCTP}")
        }
    }

    @Test func badExporter() {
        #expect(throws: ConfigError.self) {
            _ = try config(exporters: "    - type: HTTP\n      http: {url: 'not a url'}")
        }
        #expect {
            _ = try config(exporters: "    - type: Kafka")
        } throws: { ($0 as? ConfigError)?.path == "spec.exporters[1].type" }
    }

    @Test func notYAML() {
        #expect(throws: ConfigError.self) { _ = try AgentConfig(yaml: "spec: [") }
        #expect(throws: ConfigError(path: "spec", reason: "is required")) {
            _ = try AgentConfig(yaml: "kind: FlowCollector")
        }
    }
}
