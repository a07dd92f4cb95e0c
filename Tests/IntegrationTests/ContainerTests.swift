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
            for tool in sh nslookup sleep; do ln -sf busybox \(rootfs)/bin/$tool; done
            """)
        let podUID = UUID().uuidString.lowercased()
        let podman = "podman --runtime runc --cgroup-manager cgroupfs"
        let agent = try await AgentProcess()
        // The container lives on after its lookup, as a pod does: its cgroup, named by the id the
        // kernel reports, is read while it exists.
        try sh(
            """
            \(podman) run -d --cidfile \(cidFile) \
            --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network ns:/run/netns/\(lab.client) \
            --dns \(lab.serverAddr) --cgroup-parent /kubepods/burstable/pod\(podUID) --rootfs \(rootfs) \
            /bin/sh -c 'nslookup a.example.test \(lab.serverAddr); sleep 60'
            """)
        let containerID = try String(contentsOfFile: cidFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? sh("\(podman) rm -f -t 0 \(containerID)") }
        var output = ""
        for _ in 0..<100 where !output.contains("10.9.9.1") {
            try await Task.sleep(for: .milliseconds(100))
            output = (try? sh("\(podman) logs \(containerID)")) ?? ""
        }
        #expect(output.contains("10.9.9.1"), "nslookup: \(output)")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let lookups = records.filter {
            $0.isTransaction && $0.dnsName == "a.example.test" && $0.srcAddr.text == lab.clientAddr
        }
        try #require(!lookups.isEmpty, "no lookup of a.example.test from the container")
        for lookup in lookups {
            #expect(lookup.requester?.comm == "nslookup")
            #expect(lookup.requester?.containerId == containerID)
            #expect(lookup.requester?.podUid == podUID)
            #expect(lookup.srcAddr.text == lab.clientAddr)
        }
    }
}
