import DNSFlowCore
import Foundation
import Testing

/// A real container (`BusyboxPod`) in the lab's client namespace, under kubelet's cgroupfs layout,
/// asking the lab's server.
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
        let podUID = UUID().uuidString.lowercased()
        let agent = try await AgentProcess()
        let pod = try BusyboxPod(lab: lab, podUID: podUID, dns: lab.serverAddr, name: "a.example.test")
        defer { pod.remove() }
        let output = try await pod.output(showing: "10.9.9.1")
        #expect(output.contains("10.9.9.1"), "nslookup: \(output)")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let lookups = records.filter {
            $0.isTransaction && $0.dnsName == "a.example.test" && $0.srcAddr.text == lab.clientAddr
        }
        try #require(!lookups.isEmpty, "no lookup of a.example.test from the container")
        for lookup in lookups {
            #expect(lookup.requester?.comm == "nslookup")
            #expect(lookup.requester?.containerId == pod.containerID)
            #expect(lookup.requester?.podUid == podUID)
            #expect(lookup.srcAddr.text == lab.clientAddr)
        }
    }
}
