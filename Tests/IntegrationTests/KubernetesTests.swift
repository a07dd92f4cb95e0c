import DNSFlowCore
import Foundation
import KubernetesReplay
import Testing

/// The agent with Kubernetes names, end to end: real lookups from a podman container in
/// kubelet's cgroup layout and from a hostNetwork process, named from the replay server's
/// recorded API answers (the one stand-in: no kube-apiserver runs here).
@Suite(.serialized)
struct KubernetesTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    /// The replay server with the lists for `answers`, a kubeconfig for it, and an agent using it.
    private func startAgent(_ answers: RecordedAnswers) async throws -> (KubernetesReplayServer, AgentProcess, String) {
        let server = try KubernetesReplayServer(certificate: TestCertificate())
        answers.answerLists(on: server)
        server.answer("/api/v1/pods", watch: true, .events([], hold: true))
        let port = try await server.start()
        let kubeconfig = "/tmp/dnsflow-i18-kubeconfig-\(getpid())"
        try answers.kubeconfig(port: port, certificate: server.certificate).write(
            toFile: kubeconfig, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess(
            config: AgentProcess.config(extra: "    kubernetes: {enable: true, kubeconfig: \(kubeconfig)}"))
        // Names are there once the pods are listed and watched.
        for _ in 0..<100
        where !server.requests.contains(where: { $0.hasPrefix("/api/v1/pods?") && $0.contains("watch=1") }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        return (server, agent, kubeconfig)
    }

    @Test(
        "a lookup from a pod's container through a Service carries the pod, its Deployment, the Service and the server pod"
    )
    func podLookupThroughService() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try lab.translateServiceAddress()
        let podUID = UUID().uuidString.lowercased()
        let answers = RecordedAnswers(
            node: "test-node", clientPodUID: podUID, clientPodIP: lab.clientAddr, serverPodIP: lab.serverAddr,
            serviceIP: lab.serviceAddr)
        let (server, agent, kubeconfig) = try await startAgent(answers)
        defer {
            try? FileManager.default.removeItem(atPath: kubeconfig)
            server.certificate.remove()
        }
        let pod = try BusyboxPod(lab: lab, podUID: podUID, dns: lab.serviceAddr, name: "a.example.test")
        defer { pod.remove() }
        let output = try await pod.output(showing: "10.9.9.1")
        #expect(output.contains("10.9.9.1"), "nslookup: \(output)")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        await server.shutdown()
        let lookups = records.filter {
            $0.isTransaction && $0.dnsName == "a.example.test" && $0.srcAddr.text == lab.clientAddr
        }
        try #require(!lookups.isEmpty, "no lookup of a.example.test from the container")
        for lookup in lookups {
            #expect(lookup.requester?.podUid == podUID)
            #expect(lookup.srcK8S?.name == "web-7c9f8d6b5-x2x8q")
            #expect(lookup.srcK8S?.namespace == "shop")
            #expect(lookup.srcK8S?.kind == .pod)
            #expect(lookup.srcK8S?.ownerName == "web" && lookup.srcK8S?.ownerType == "Deployment")
            #expect(lookup.srcK8S?.hostName == "test-node")
            #expect(lookup.dstAddr.text == lab.serviceAddr)
            #expect(lookup.dstK8S?.kind == .service && lookup.dstK8S?.name == "kube-dns")
            #expect(lookup.dstK8S?.namespace == "kube-system")
            #expect(lookup.xlatDstAddr?.text == lab.serverAddr)
            #expect(lookup.xlatDstK8S?.name == "coredns-5d78c9869d-kq4zr")
            #expect(lookup.xlatDstK8S?.namespace == "kube-system")
        }
    }

    @Test("a lookup from a hostNetwork pod's process (host namespace, kubepods cgroup) gets its pod")
    func hostNetworkPod() async throws {
        let podUID = UUID().uuidString.lowercased()
        let containerID = (UUID().uuidString + UUID().uuidString).lowercased().replacingOccurrences(of: "-", with: "")
            .prefix(64)
        let answers = RecordedAnswers(
            node: "test-node", clientPodUID: UUID().uuidString.lowercased(), clientPodIP: "10.244.9.9",
            serverPodIP: "10.244.9.10", serviceIP: "10.96.9.10", hostPodUID: podUID)
        let root = try sh("findmnt -n -t cgroup2 -o TARGET | head -1").trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(!root.isEmpty, "no cgroup v2 hierarchy mounted")
        let pod = "\(root)/kubepods/besteffort/pod\(podUID)"
        let cgroup = "\(pod)/\(containerID)"
        try sh("mkdir -p \(cgroup)")
        defer {
            _ = try? sh(
                "rmdir \(cgroup) \(pod) 2>/dev/null; rmdir \(root)/kubepods/besteffort \(root)/kubepods 2>/dev/null",
                check: false)
        }
        // A resolver on a loopback address of the test's own, in the host namespace.
        let resolver = "127.18.\(getpid() % 200).53"
        let dnsmasq = try BackgroundProcess(
            """
            dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
            --listen-address=\(resolver) --local=/example.test/ --host-record=a.example.test,10.9.9.1 \
            --pid-file= --log-facility=-
            """)
        defer { Task { await dnsmasq.stop() } }
        try await Task.sleep(for: .milliseconds(300))
        let (server, agent, kubeconfig) = try await startAgent(answers)
        defer {
            try? FileManager.default.removeItem(atPath: kubeconfig)
            server.certificate.remove()
        }
        let dig = try sh(
            "sh -c 'echo $$ > \(cgroup)/cgroup.procs && exec dig @\(resolver) a.example.test +tries=1 +time=2'")
        let header = try #require(digHeader(dig), "dig: \(dig)")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        await server.shutdown()
        let lookups = records.filter { $0.isTransaction && $0.dnsId == header.id && $0.dnsName == "a.example.test" }
        try #require(!lookups.isEmpty, "no lookup with dig's id \(header.id)")
        for lookup in lookups {
            #expect(lookup.requester?.comm == "dig")
            #expect(lookup.requester?.podUid == podUID)
            #expect(lookup.srcK8S?.name == "node-exporter-9xq2d")
            #expect(lookup.srcK8S?.namespace == "monitoring")
            #expect(lookup.srcK8S?.ownerType == "DaemonSet" && lookup.srcK8S?.ownerName == "node-exporter")
        }
    }
}
