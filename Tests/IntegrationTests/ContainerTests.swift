import DNSFlowCore
import Foundation
import Testing

/// A real container (podman with runc, from a busybox rootfs: no registry is reachable) in the
/// lab's client namespace, under kubelet's cgroupfs layout, asking the lab's server.
@Suite(.serialized)
struct ContainerTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    @Test("a lookup from a podman container carries its container id, its pod's UID and its command")
    func podmanContainer() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let rootfs = "/tmp/\(lab.id)-rootfs"
        let cidFile = "/tmp/\(lab.id)-cid"
        try sh(
            """
            set -e
            mkdir -p \(rootfs)/bin \(rootfs)/etc
            cp \"$(command -v busybox)\" \(rootfs)/bin/busybox
            ln -sf busybox \(rootfs)/bin/sh; ln -sf busybox \(rootfs)/bin/nslookup
            """)
        let podUID = UUID().uuidString.lowercased()
        let agent = try await AgentProcess()
        let output = try sh(
            """
            podman --runtime runc --cgroup-manager cgroupfs run --rm --cidfile \(cidFile) \
            --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network ns:/run/netns/\(lab.client) \
            --dns \(lab.serverAddr) --cgroup-parent /kubepods/burstable/pod\(podUID) --rootfs \(rootfs) \
            /bin/nslookup a.example.test \(lab.serverAddr)
            """)
        #expect(output.contains("10.9.9.1"), "nslookup: \(output)")
        let containerID = try String(contentsOfFile: cidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let lookups = records.filter { $0.isTransaction && $0.dnsName == "a.example.test" }
        try #require(!lookups.isEmpty, "no lookup of a.example.test")
        for lookup in lookups {
            #expect(lookup.requester?.comm == "nslookup")
            #expect(lookup.requester?.containerId == containerID)
            #expect(lookup.requester?.podUid == podUID)
            #expect(lookup.srcAddr.text == lab.clientAddr)
        }
    }
}
