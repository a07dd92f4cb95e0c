import DNSFlowConfig
import Foundation

/// `spec.agent.kubernetes`: whether to name pods and Services from the API server, and how to reach it.
public struct KubernetesSettings: Sendable, Equatable {
    public enum Enable: String, Sendable, CaseIterable {
        case on = "true"
        case off = "false"
        /// On when the pod's service account is mounted (in a cluster), off elsewhere.
        case auto
    }

    public var enable: Enable = .auto
    /// A kubeconfig to use instead of the service account; `$KUBECONFIG` when not set here.
    public var kubeconfig: String?

    public init(enable: Enable = .auto, kubeconfig: String? = nil) {
        self.enable = enable
        self.kubeconfig = kubeconfig
    }

    init(_ node: ConfigNode) throws(ConfigError) {
        var mapping = try node.mapping()
        if let n = mapping.optional("enable") {
            // YAML's true/false arrive as the scalars "true"/"false".
            let text = try n.string().lowercased()
            guard let enable = Enable(rawValue: text) else {
                throw n.fail("expected true, false or auto, got '\(text)'")
            }
            self.enable = enable
        }
        if let n = mapping.optional("kubeconfig") {
            let path = try n.string()
            guard !path.isEmpty else { throw n.fail("must not be empty") }
            kubeconfig = path
        }
        try mapping.finish()
    }

    /// The connection to use, nil when off (or `auto` outside a cluster without a kubeconfig).
    /// A kubeconfig named here or in `$KUBECONFIG` wins over the service account.
    public func connection(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccount: String = KubernetesConnection.serviceAccountDirectory
    ) throws(KubernetesConfigError) -> KubernetesConnection? {
        if enable == .off { return nil }
        if let path = kubeconfig ?? environment["KUBECONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return try KubernetesConnection.kubeconfig(path: path)
        }
        if enable == .auto && !KubernetesConnection.serviceAccountMounted(directory: serviceAccount) { return nil }
        return try KubernetesConnection.inCluster(environment: environment, directory: serviceAccount)
    }
}
