import DNSFlowAgent
import DNSFlowConfig
import Testing

struct DnstapConfigTests {
    func config(features: String = "DNSTracking, DNSServerSide", dnstap: String) throws(ConfigError) -> AgentConfig {
        try AgentConfig(
            yaml: """
                spec:
                  agent:
                    ebpf:
                      features: [\(features)]
                    dnstap: \(dnstap)
                """)
    }

    @Test func unixAndTcp() throws {
        let parsed = try config(dnstap: "{unix: /run/dnsflow/dnstap.sock, tcp: '127.0.0.1:6000', queueSize: 1000}")
        #expect(parsed.features == [.dnsTracking, .dnsServerSide])
        #expect(
            parsed.dnstap
                == {
                    var expected = DnstapConfig(
                        unixPath: "/run/dnsflow/dnstap.sock", tcpHost: "127.0.0.1", tcpPort: 6000)
                    expected.queueSize = 1000
                    return expected
                }())
        #expect(try config(dnstap: "{tcp: '[::1]:6000'}").dnstap?.tcpHost == "::1")
    }

    @Test func theJoinWindowAndThePendingCap() throws {
        let parsed = try config(dnstap: "{unix: /run/x.sock, joinWindow: 3s, maxPending: 500}").dnstap
        #expect(parsed?.joinWindow == .seconds(3) && parsed?.maxPending == 500)
        let defaults = try config(dnstap: "{unix: /run/x.sock}").dnstap
        #expect(defaults?.joinWindow == .seconds(10) && defaults?.maxPending == 65_536)
    }

    @Test(arguments: [
        ("{tcp: '127.0.0.1'}", "spec.agent.dnstap.tcp: expected host:port, e.g. 127.0.0.1:6000, got '127.0.0.1'"),
        ("{unix: dnstap.sock}", "spec.agent.dnstap.unix: expected an absolute socket path"),
        ("{}", "spec.agent.dnstap: set unix, tcp or both"),
        ("{unix: /x, port: 1}", "spec.agent.dnstap.port: unknown key"),
        ("{unix: /x, joinWindow: 500ms}", "spec.agent.dnstap.joinWindow: expected at least 1s"),
        ("{unix: /x, maxPending: 0}", "spec.agent.dnstap.maxPending:"),
    ])
    func badValuesNameTheKey(dnstap: String, message: String) {
        #expect(throws: ConfigError.self) { try config(dnstap: dnstap) }
        do {
            _ = try config(dnstap: dnstap)
        } catch {
            #expect(error.description.hasPrefix("config: \(message)"), "\(error)")
        }
    }

    @Test func dnstapNeedsTheFeature() {
        do {
            _ = try config(features: "DNSTracking", dnstap: "{unix: /run/x.sock}")
            Issue.record("accepted without DNSServerSide")
        } catch {
            #expect(error.description == "config: spec.agent.dnstap: needs DNSServerSide in spec.agent.ebpf.features")
        }
    }
}
