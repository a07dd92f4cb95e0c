import DNSFlowCore
import Foundation
import Testing

/// The agent from the image `make image` builds (localhost/dnsflow:dev), run as the DaemonSet runs
/// it: host network, /sys/kernel/btf, /sys/kernel/tracing and /sys/fs/cgroup read-only, privileged
/// or with only the four capabilities. `make test` builds the image first.
@Suite(.serialized)
struct ImageTests {
    static let image = "localhost/dnsflow:dev"
    static let podman = "podman --runtime runc --cgroup-manager cgroupfs"

    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
        _ = try sh("\(Self.podman) image exists \(Self.image)")
    }

    @Test("the image's agent exports the id dig printed", arguments: ["--privileged", "capabilities"])
    func exportsDigID(privilege: String) async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let config = "/tmp/\(lab.id)-image-agent.yaml"
        try AgentProcess.config().write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let security =
            privilege == "--privileged"
            ? "--privileged"
            : "--cap-drop ALL --cap-add BPF,PERFMON,NET_ADMIN,SYS_RESOURCE --security-opt seccomp=unconfined"
        let name = "\(lab.id)-agent"
        let agent = try BackgroundProcess(
            """
            \(Self.podman) run --rm --name \(name) --network host \(security) \
            --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
            -v /sys/kernel/btf:/sys/kernel/btf:ro -v /sys/kernel/tracing:/sys/kernel/tracing:ro \
            -v /sys/fs/cgroup:/sys/fs/cgroup:ro -v \(config):/etc/dnsflow/flowcollector.yaml:ro \
            \(Self.image) agent --config /etc/dnsflow/flowcollector.yaml --node-name test-node
            """)
        defer { _ = try? sh("\(Self.podman) rm -f -t 0 \(name)", check: false) }
        guard await agent.waitForStderr(timeout: .seconds(60), { $0.contains("BPF program attached") }) else {
            _ = await agent.stop(signal: SIGKILL)
            Issue.record("the agent in the image did not attach: \(agent.stderr)")
            return
        }
        let dig = try lab.run(lab.client, "dig @\(lab.serverAddr) a.example.test +tries=1 +time=2")
        let header = try #require(digHeader(dig), "dig: \(dig)")
        try await Task.sleep(for: .milliseconds(1500))
        _ = try sh("\(Self.podman) stop -t 20 \(name)")
        _ = await agent.stop()
        let records = try agent.stdout.split(separator: "\n").filter { $0.hasPrefix("{") }.flatMap {
            try FlowRecordJSON.decodeArray(Array("[\($0)]".utf8))
        }
        let lookup = records.first { $0.isTransaction && $0.dnsId == header.id && $0.srcAddr.text == lab.clientAddr }
        #expect(lookup != nil, "no transaction with dig's id \(header.id) among \(records.count) records")
        #expect(header.status == "NOERROR" && lookup?.dnsFlagsResponseCode == .noError)
    }
}
