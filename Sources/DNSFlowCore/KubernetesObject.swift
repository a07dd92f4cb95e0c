/// What one end of a record is in Kubernetes: flowlogs-pipeline's `SrcK8S_*` and `DstK8S_*`
/// fields (and `XlatDstK8S_Name`, `XlatDstK8S_Namespace` for a transaction's server after
/// translation). Filled by the agent's enrichment from the API server's objects; the strings are
/// the cache's own, so a window's records share their storage rather than copy it.
public struct KubernetesObject: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable, CaseIterable {
        case pod = 1
        case service = 2
        case node = 3

        /// The JSON value of `*K8S_Type`.
        public var name: String {
            switch self {
            case .pod: "Pod"
            case .service: "Service"
            case .node: "Node"
            }
        }

        public init?(name: String) {
            guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = kind
        }
    }

    public var kind: Kind
    public var name: String
    /// Empty for a node.
    public var namespace: String
    /// The top of the owner chain: a ReplicaSet's Deployment, a Job's CronJob, a DaemonSet, a
    /// StatefulSet; the pod's direct owner when its own owner is not known.
    public var ownerName: String?
    /// The owner's kind as the API spells it (`Deployment`); an open set (custom controllers).
    public var ownerType: String?
    /// The node a pod runs on.
    public var hostName: String?

    public init(
        kind: Kind, name: String, namespace: String, ownerName: String? = nil, ownerType: String? = nil,
        hostName: String? = nil
    ) {
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.ownerName = ownerName
        self.ownerType = ownerType
        self.hostName = hostName
    }

    /// What a decoder starts from when the first of an object's keys arrives.
    public static let unnamed = KubernetesObject(kind: .pod, name: "", namespace: "")
}
