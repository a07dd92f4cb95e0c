import DNSFlowAgent
import Foundation
import Testing

struct KubernetesConnectionTests {
    let folder = NSTemporaryDirectory() + "k8s-conn-\(UUID().uuidString.prefix(8))"

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = "\(folder)/\(name)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func kubeconfig(user: String, cluster: String = "certificate-authority: ca.crt") throws -> String {
        try write(
            "config",
            """
            apiVersion: v1
            kind: Config
            preferences: {}
            current-context: kind-dev
            clusters:
            - name: other
              cluster: {server: "https://10.0.0.1:6443"}
            - name: kind-dev
              cluster:
                server: https://127.0.0.1:41999
                \(cluster)
            contexts:
            - name: kind-dev
              context: {cluster: kind-dev, user: kind-dev, namespace: default}
            users:
            - name: kind-dev
              user:
            \(user)
            """)
    }

    @Test("a kubeconfig's current context: server, CA file relative to it, client certificate data")
    func clientCertificate() throws {
        _ = try write("ca.crt", "CA PEM")
        let path = try kubeconfig(
            user: """
                    client-certificate-data: \(Data("CERT PEM".utf8).base64EncodedString())
                    client-key-data: \(Data("KEY PEM".utf8).base64EncodedString())
                """)
        let connection = try KubernetesConnection.kubeconfig(path: path)
        #expect(connection.server == "https://127.0.0.1:41999")
        #expect(connection.certificateAuthority == Array("CA PEM".utf8))
        #expect(
            connection.credential == .clientCertificate(certificate: Array("CERT PEM".utf8), key: Array("KEY PEM".utf8))
        )
    }

    @Test("a kubeconfig with a token and inline CA data")
    func token() throws {
        let path = try kubeconfig(
            user: "        token: abc.def",
            cluster: "certificate-authority-data: \(Data("CA".utf8).base64EncodedString())")
        let connection = try KubernetesConnection.kubeconfig(path: path)
        #expect(connection.credential == .token("abc.def"))
        #expect(connection.certificateAuthority == Array("CA".utf8))
    }

    @Test("a client certificate without its key names the user")
    func certificateWithoutKey() throws {
        _ = try write("ca.crt", "CA PEM")
        let path = try kubeconfig(user: "        client-certificate-data: \(Data("C".utf8).base64EncodedString())")
        #expect {
            try KubernetesConnection.kubeconfig(path: path)
        } throws: { "\($0)".contains("users[kind-dev]") && "\($0)".contains("needs its key") }
    }

    @Test("in a pod: the service account's token file and CA, the Service's address")
    func inCluster() throws {
        _ = try write("token", "eyJhbGciOi")
        _ = try write("ca.crt", "CLUSTER CA")
        let connection = try KubernetesConnection.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "443"],
            directory: folder)
        #expect(connection.server == "https://[fd00:10:96::1]:443")
        #expect(connection.credential == .tokenFile("\(folder)/token"))
        #expect(connection.certificateAuthority == Array("CLUSTER CA".utf8))
    }

    @Test("auto is off outside a cluster without a kubeconfig; true there is an error that says why")
    func enableModes() throws {
        let empty: [String: String] = [:]
        #expect(try KubernetesSettings(enable: .auto).connection(environment: empty, serviceAccount: folder) == nil)
        #expect(try KubernetesSettings(enable: .off).connection(environment: empty, serviceAccount: folder) == nil)
        #expect {
            try KubernetesSettings(enable: .on).connection(environment: empty, serviceAccount: folder)
        } throws: { "\($0)".contains("not in a pod") }
    }

    @Test("spec.agent.kubernetes: enable and kubeconfig read; a bad value names the key")
    func config() throws {
        let yaml = """
            apiVersion: dnsflow.io/v1alpha1
            kind: FlowCollector
            spec:
              agent:
                kubernetes: {enable: true, kubeconfig: /etc/kube/config}
            """
        let config = try AgentConfig(yaml: yaml)
        #expect(config.kubernetes == KubernetesSettings(enable: .on, kubeconfig: "/etc/kube/config"))
        #expect(try AgentConfig(yaml: "spec: {}").kubernetes.enable == .auto)
        #expect {
            try AgentConfig(yaml: "spec: {agent: {kubernetes: {enable: maybe}}}")
        } throws: { "\($0)" == "config: spec.agent.kubernetes.enable: expected true, false or auto, got 'maybe'" }
    }
}
