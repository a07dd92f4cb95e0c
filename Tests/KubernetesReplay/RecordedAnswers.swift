import Foundation

/// The recorded API answers under Tests/Fixtures/kubernetes, with their `{{PLACEHOLDERS}}` filled:
/// the pod UIDs and addresses of the test's own lab.
public struct RecordedAnswers: Sendable {
    public var values: [String: String]

    public init(
        node: String = "node-1", nodeIP: String = "192.168.49.2", clientPodUID: String, clientPodIP: String,
        serverPodIP: String, serviceIP: String, hostPodUID: String = "c7d8e9f0-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    ) {
        values = [
            "NODE": node, "NODE_IP": nodeIP, "CLIENT_POD_UID": clientPodUID, "CLIENT_POD_IP": clientPodIP,
            "SERVER_POD_IP": serverPodIP, "SERVICE_IP": serviceIP, "HOST_POD_UID": hostPodUID,
        ]
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures/kubernetes")

    /// A fixture's text, placeholders filled.
    public func text(_ name: String) -> String {
        var text = (try? String(contentsOf: Self.folder.appending(path: name), encoding: .utf8)) ?? ""
        for (key, value) in values { text = text.replacingOccurrences(of: "{{\(key)}}", with: value) }
        return text
    }

    /// A `.jsonl` fixture as watch events, `spacing` apart.
    public func events(_ name: String, spacing: Duration = .zero) -> [KubernetesReplayServer.Event] {
        text(name).split(separator: "\n").map { KubernetesReplayServer.Event(after: spacing, String($0)) }
    }

    /// The four lists the agent makes, each watch held open with no events.
    public func answerLists(on server: KubernetesReplayServer, pods: String = "pods.json") {
        server.answer("/api/v1/pods", .json(text(pods)))
        server.answer("/api/v1/services", .json(text("services.json")))
        server.answer("/apis/apps/v1/replicasets", .json(text("replicasets.json")))
        server.answer("/apis/batch/v1/jobs", .json(text("jobs.json")))
        for path in ["/api/v1/services", "/apis/apps/v1/replicasets", "/apis/batch/v1/jobs"] {
            server.answer(path, watch: true, .events([], hold: true))
        }
    }

    /// A kubeconfig for the server at `port`, trusting its certificate, with a bearer token.
    public func kubeconfig(port: Int, certificate: TestCertificate, token: String = "replay-token") -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: replay
        clusters:
        - name: replay
          cluster:
            server: https://127.0.0.1:\(port)
            certificate-authority-data: \(Data(certificate.pem).base64EncodedString())
        users:
        - name: agent
          user:
            token: \(token)
        contexts:
        - name: replay
          context:
            cluster: replay
            user: agent
        """
    }
}
