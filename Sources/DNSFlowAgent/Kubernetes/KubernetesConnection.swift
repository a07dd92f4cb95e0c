import DNSFlowConfig
import Foundation

/// Where the API server is and how to prove who we are: from the pod's service account
/// (in-cluster) or from a kubeconfig's current context. Token, client certificate and CA data
/// are what is read; exec plugins and auth providers are not.
public struct KubernetesConnection: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        /// Read again for every request: kubelet rotates bound service account tokens.
        case tokenFile(String)
        case token(String)
        /// PEM certificate chain and key.
        case clientCertificate(certificate: [UInt8], key: [UInt8])
        case none
    }

    /// `https://host:port`, no trailing slash.
    public var server: String
    public var credential: Credential
    /// PEM; nil trusts the system's roots.
    public var certificateAuthority: [UInt8]?

    public init(server: String, credential: Credential, certificateAuthority: [UInt8]?) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.credential = credential
        self.certificateAuthority = certificateAuthority
    }

    /// The service account kubelet mounts into every pod that asks for one.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// True when this process runs in a pod with a service account token mounted.
    public static func serviceAccountMounted(directory: String = serviceAccountDirectory) -> Bool {
        FileManager.default.fileExists(atPath: "\(directory)/token")
    }

    /// In-cluster: `KUBERNETES_SERVICE_HOST`/`_PORT` and the service account's token and CA.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws(KubernetesConfigError) -> KubernetesConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubernetesConfigError("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not in a pod")
        }
        let tokenPath = "\(directory)/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubernetesConfigError("\(tokenPath): no service account token mounted")
        }
        let caPath = "\(directory)/ca.crt"
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw KubernetesConfigError("\(caPath): cannot read the cluster's CA")
        }
        // An IPv6 address goes in brackets in a URL.
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubernetesConnection(
            server: "https://\(hostPart):\(port)", credential: .tokenFile(tokenPath), certificateAuthority: Array(ca))
    }

    /// A kubeconfig's current context: its cluster's `server` and CA, its user's token or client
    /// certificate (inline `-data` or file paths, relative to the kubeconfig's folder).
    public static func kubeconfig(path: String) throws(KubernetesConfigError) -> KubernetesConnection {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubernetesConfigError("\(path): cannot read the kubeconfig")
        }
        let folder = (path as NSString).deletingLastPathComponent
        do {
            return try KubeconfigReader(folder: folder).read(yaml: String(decoding: data, as: UTF8.self))
        } catch {
            throw KubernetesConfigError("\(path): \(error.path.isEmpty ? "" : "\(error.path): ")\(error.reason)")
        }
    }
}

/// A connection that cannot be made from what is configured or mounted.
public struct KubernetesConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// The few keys of a kubeconfig (`clusters`, `users`, `contexts`, `current-context`) that name
/// the current context's server and credentials. Other keys are left alone: kubeconfigs carry many.
private struct KubeconfigReader {
    let folder: String

    func read(yaml: String) throws(ConfigError) -> KubernetesConnection {
        var root = try ConfigNode(yaml: yaml).mapping()
        let currentNode = try root.required("current-context")
        let current = try currentNode.string()
        var context = try entry(named: current, in: root.required("contexts"), field: "context")
        let clusterName = try context.required("cluster").string()
        let userName = try context.optional("user")?.string()
        var cluster = try entry(named: clusterName, in: root.required("clusters"), field: "cluster")
        let serverNode = try cluster.required("server")
        let server = try serverNode.string()
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw serverNode.fail("expected an https:// URL, got '\(server)'")
        }
        let ca = try bytes(&cluster, data: "certificate-authority-data", file: "certificate-authority")
        var credential = KubernetesConnection.Credential.none
        if let userName, let users = root.optional("users") {
            var user = try entry(named: userName, in: users, field: "user")
            if let token = try user.optional("token")?.string() {
                credential = .token(token)
            } else if let tokenFile = try user.optional("tokenFile")?.string() {
                credential = .tokenFile(resolve(tokenFile))
            } else if let certificate = try bytes(&user, data: "client-certificate-data", file: "client-certificate") {
                guard let key = try bytes(&user, data: "client-key-data", file: "client-key") else {
                    throw ConfigError(path: "users[\(userName)]", reason: "a client certificate needs its key")
                }
                credential = .clientCertificate(certificate: certificate, key: key)
            }
        }
        return KubernetesConnection(server: server, credential: credential, certificateAuthority: ca)
    }

    /// The `field` mapping of the list item whose `name` is `name`.
    private func entry(
        named name: String, in list: ConfigNode, field: String
    ) throws(ConfigError)
        -> ConfigNode.Mapping
    {
        for item in try list.sequence() {
            var mapping = try item.mapping()
            if try mapping.optional("name")?.string() == name { return try mapping.required(field).mapping() }
        }
        throw list.fail("no entry named '\(name)'")
    }

    /// Base64 data inline, or the file a path names.
    private func bytes(
        _ mapping: inout ConfigNode.Mapping, data: String, file: String
    ) throws(ConfigError)
        -> [UInt8]?
    {
        if let node = mapping.optional(data) {
            guard let decoded = Data(base64Encoded: try node.string(), options: .ignoreUnknownCharacters) else {
                throw node.fail("not valid base64")
            }
            return Array(decoded)
        }
        guard let node = mapping.optional(file) else { return nil }
        let path = resolve(try node.string())
        guard let contents = FileManager.default.contents(atPath: path) else { throw node.fail("cannot read \(path)") }
        return Array(contents)
    }

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") || folder.isEmpty ? path : "\(folder)/\(path)"
    }
}
