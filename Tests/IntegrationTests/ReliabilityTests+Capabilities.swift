import Foundation
import Testing

extension ReliabilityTests {
    /// Ways to start the agent without what it needs, and the capabilities it must then name.
    enum Confinement: String, CaseIterable, CustomTestStringConvertible {
        case noBPFCapabilities, noNetAdmin, userNamespace

        var testDescription: String { rawValue }

        func command(_ agent: String) -> String {
            switch self {
            // CAP_SYS_ADMIN stands in for the others: it goes too.
            case .noBPFCapabilities:
                "capsh --drop=cap_bpf,cap_perfmon,cap_net_admin,cap_sys_admin -- -c 'exec \(agent)'"
            case .noNetAdmin: "capsh --drop=cap_net_admin,cap_sys_admin -- -c 'exec \(agent)'"
            // Root in a user namespace of its own: every capability there, none for bpf().
            case .userNamespace: "unshare --user --map-root-user \(agent)"
            }
        }

        var named: [String] {
            self == .noNetAdmin ? ["CAP_NET_ADMIN"] : ["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"]
        }
    }

    @Test(
        "without the capabilities it needs, the agent exits 1 with one line naming them",
        arguments: Confinement.allCases)
    func missingCapabilities(_ confinement: Confinement) async throws {
        let path = "/tmp/dnsflow-caps-\(getpid())-\(confinement).yaml"
        try AgentProcess.config().write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let process = try BackgroundProcess(confinement.command("\(AgentProcess.binary) agent --config \(path)"))
        // Signal 0 only waits: an agent that started anyway is killed at the deadline (status 137).
        let status = await process.stop(signal: 0, timeout: .seconds(20))
        let lines = process.stderr.split(separator: "\n")
        #expect(status == 1, "\(process.stderr)")
        #expect(lines.count == 1, "one line, no libbpf output or stack trace: \(process.stderr)")
        let line = lines.first.map(String.init) ?? ""
        #expect(line.hasPrefix("dnsflow agent: missing capabilities "), "\(line)")
        let unnamed = ["CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"].filter { !confinement.named.contains($0) }
        #expect(confinement.named.allSatisfy(line.contains) && !unnamed.contains(where: line.contains), "\(line)")
        #expect(line.contains("initial user namespace") == (confinement == .userNamespace), "\(line)")
    }
}
