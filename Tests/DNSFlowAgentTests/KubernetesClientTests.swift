import DNSFlowCore
import Foundation
import KubernetesReplay
import Logging
import Prometheus
import Testing

@testable import DNSFlowAgent

/// The API client and its cache against the replay server (recorded answers over real HTTPS,
/// kube-apiserver being impossible to run here).
@Suite(.serialized)
struct KubernetesClientTests {
    static let clientPodUID = "3f6b2a1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9"
    let answers = RecordedAnswers(
        clientPodUID: clientPodUID, clientPodIP: "10.244.1.12", serverPodIP: "10.244.1.3", serviceIP: "10.96.0.10")

    /// Runs a watcher against `server` for `body`, then stops both.
    func withWatcher(
        _ server: KubernetesReplayServer, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        _ body: (KubernetesCache, Int) async throws -> Void
    ) async throws {
        let port = try await server.start()
        let kubeconfig = NSTemporaryDirectory() + "kubeconfig-\(UUID().uuidString.prefix(8))"
        try answers.kubeconfig(port: port, certificate: server.certificate).write(
            toFile: kubeconfig, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: kubeconfig) }
        let client = try KubernetesAPIClient(connection: KubernetesConnection.kubeconfig(path: kubeconfig))
        let watcher = KubernetesWatcher(
            client: client, nodeName: "node-1", registry: registry, logger: Logger(label: "test"))
        let task = Task { try await watcher.run() }
        do {
            try await body(watcher.cache, port)
        } catch {
            task.cancel()
            await server.shutdown()
            throw error
        }
        task.cancel()
        _ = try? await task.value
        await server.shutdown()
    }

    func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    func expectEventually(
        _ seconds: Double = 10, _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        if try await !eventually(seconds, condition) {
            Issue.record("the condition never held in \(seconds) s", sourceLocation: sourceLocation)
        }
    }

    func makeServer() throws -> KubernetesReplayServer {
        try KubernetesReplayServer(certificate: TestCertificate())
    }

    @Test("lists this node's pods, the Services and the owners, and names them with their top owners")
    func listsAndNames() async throws {
        let server = try makeServer()
        answers.answerLists(on: server)
        server.answer("/api/v1/pods", watch: true, .events([], hold: true))
        try await withWatcher(server) { cache, _ in
            try await expectEventually { cache.pod(uid: Self.clientPodUID) != nil && cache.counts.owners == 3 }
            let web = try #require(cache.pod(uid: Self.clientPodUID))
            #expect(web.name == "web-7c9f8d6b5-x2x8q")
            #expect(web.namespace == "shop")
            #expect(web.ownerName == "web")
            #expect(web.ownerType == "Deployment")
            #expect(web.hostName == "node-1")
            #expect(cache.object(address: "10.244.1.12") == web)
            #expect(cache.object(address: "10.96.0.10")?.kind == .service)
            #expect(cache.object(address: "10.96.0.10")?.name == "kube-dns")
            #expect(cache.object(address: "fd00:10:96::4107")?.name == "web", "the second of a dual-stack Service")
            let coredns = try #require(cache.object(address: "10.244.1.3"))
            #expect(coredns.name == "coredns-5d78c9869d-kq4zr" && coredns.ownerName == "coredns")
            // The hostNetwork pod is named by its cgroup only: its address is the node's.
            let exporter = try #require(cache.pod(uid: "c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f"))
            #expect(exporter.ownerType == "DaemonSet" && exporter.ownerName == "node-exporter")
            #expect(cache.object(address: "192.168.49.2")?.kind == .node)
            #expect(cache.object(address: "192.168.49.2")?.name == "node-1")
        }
        let requests = server.requests
        #expect(requests.contains("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1"))
        let watch = try #require(requests.first { $0.hasPrefix("/api/v1/pods?") && $0.contains("watch=1") })
        #expect(watch.contains("fieldSelector=spec.nodeName%3Dnode-1"))
        #expect(watch.contains("allowWatchBookmarks=true"))
        #expect(watch.contains("resourceVersion=48213"), "watches from the list's version: \(watch)")
    }

    @Test("a pod added mid-watch is named with its CronJob, and gone once deleted; the bookmark moves the version")
    func podAddedAndDeleted() async throws {
        let server = try makeServer()
        answers.answerLists(on: server)
        let events = answers.events("pods-watch.jsonl", spacing: .milliseconds(400))
        // Added, then (bookmark) deleted; the server then ends the watch and the next one holds.
        server.answer("/api/v1/pods", watch: true, .events(events))
        server.answer("/api/v1/pods", watch: true, .events([], hold: true))
        let uid = "a1b2c3d4-e5f6-4789-8abc-def012345678"
        try await withWatcher(server) { cache, _ in
            try await expectEventually { cache.pod(uid: uid) != nil }
            let report = try #require(cache.pod(uid: uid))
            #expect(report.name == "report-28745160-7xk2p" && report.namespace == "billing")
            #expect(report.ownerType == "CronJob" && report.ownerName == "report")
            #expect(cache.object(address: "10.244.1.77")?.name == "report-28745160-7xk2p")
            try await expectEventually { cache.pod(uid: uid) == nil }
            #expect(cache.object(address: "10.244.1.77") == nil)
            #expect(
                try await eventually {
                    server.requests.filter { $0.contains("watch=1") && $0.hasPrefix("/api/v1/pods") }.count >= 2
                })
        }
        let watches = server.requests.filter { $0.hasPrefix("/api/v1/pods?") && $0.contains("watch=1") }
        #expect(watches.count >= 2)
        #expect(watches[1].contains("resourceVersion=48355"), "the last event's version: \(watches[1])")
        #expect(server.requests.filter { $0 == "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1" }.count == 1)
    }

    @Test("a 410 Gone on the watch lists again and the cache holds the new list only")
    func goneRelists() async throws {
        let server = try makeServer()
        answers.answerLists(on: server)
        server.answer("/api/v1/pods", .json(answers.text("pods-relisted.json")))
        server.answer(
            "/api/v1/pods", watch: true, .events(answers.events("watch-gone.jsonl", spacing: .milliseconds(200))))
        server.answer("/api/v1/pods", watch: true, .events([], hold: true))
        let registry = PrometheusCollectorRegistry()
        try await withWatcher(server, registry: registry) { cache, _ in
            try await expectEventually { cache.pod(uid: "d2c4e6f8-0a1b-4c3d-9e5f-7a8b9c0d1e2f") != nil }
            #expect(cache.pod(uid: Self.clientPodUID) == nil, "the first list's pod is gone with it")
            #expect(cache.object(address: "10.244.1.12")?.name == "web-7c9f8d6b5-p4n7m")
        }
        let lists = server.requests.filter { $0 == "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1" }
        #expect(lists.count == 2)
        #expect(try await metrics(registry).contains(#"dnsflow_kubernetes_relists_total{resource="pods"} 1"#))
    }

    @Test("while the API server is down the names stay; when it is back the watch resumes with what changed")
    func serverDown() async throws {
        let server = try makeServer()
        answers.answerLists(on: server)
        server.answer("/api/v1/pods", watch: true, .events([], hold: true))
        let registry = PrometheusCollectorRegistry()
        try await withWatcher(server, registry: registry) { cache, port in
            try await expectEventually { cache.pod(uid: Self.clientPodUID) != nil }
            await server.stop()
            try await Task.sleep(for: .seconds(2))
            #expect(cache.pod(uid: Self.clientPodUID)?.name == "web-7c9f8d6b5-x2x8q", "kept while the API is away")
            let failures = try await metrics(registry)
            #expect(failures.contains(#"dnsflow_kubernetes_request_failures_total{resource="pods"}"#))
            // Back, with the added pod in the resumed watch.
            server.answer("/api/v1/pods", watch: true, .events([answers.events("pods-watch.jsonl")[0]], hold: true))
            try await server.start(port: port)
            try await expectEventually(20) { cache.pod(uid: "a1b2c3d4-e5f6-4789-8abc-def012345678") != nil }
        }
        let watches = server.requests.filter { $0.hasPrefix("/api/v1/pods?") && $0.contains("watch=1") }
        #expect(watches.last?.contains("resourceVersion=48213") == true, "resumed from the last version seen")
    }

    func metrics(_ registry: PrometheusCollectorRegistry) async throws -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
