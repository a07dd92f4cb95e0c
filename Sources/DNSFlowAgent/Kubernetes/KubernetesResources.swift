/// The fields of the API's objects the agent reads, as the API server writes them in JSON; the
/// rest of each object is skipped by the decoder.
struct ObjectMeta: Decodable, Sendable {
    struct OwnerReference: Decodable, Sendable {
        var kind: String
        var name: String
        var controller: Bool?
    }

    var name: String
    var namespace: String?
    var uid: String?
    var resourceVersion: String?
    var ownerReferences: [OwnerReference]?

    /// The controlling owner, else the first.
    var owner: OwnerReference? { ownerReferences?.first { $0.controller == true } ?? ownerReferences?.first }
}

/// An object of a kind the agent lists and watches.
protocol KubernetesResource: Decodable, Sendable {
    var metadata: ObjectMeta { get }
}

struct PodResource: KubernetesResource {
    struct Spec: Decodable, Sendable {
        var nodeName: String?
        var hostNetwork: Bool?
    }

    struct Status: Decodable, Sendable {
        struct PodIP: Decodable, Sendable { var ip: String }
        var podIP: String?
        var podIPs: [PodIP]?
        var hostIP: String?
    }

    var metadata: ObjectMeta
    var spec: Spec?
    var status: Status?

    /// Every address of the pod: `podIPs` (dual stack), else `podIP`.
    var addresses: [String] {
        if let ips = status?.podIPs, !ips.isEmpty { return ips.map(\.ip) }
        return status?.podIP.map { [$0] } ?? []
    }
}

struct ServiceResource: KubernetesResource {
    struct Spec: Decodable, Sendable {
        var clusterIP: String?
        var clusterIPs: [String]?
    }

    var metadata: ObjectMeta
    var spec: Spec?

    /// `clusterIPs` (dual stack), else `clusterIP`; `None` (headless) is no address.
    var addresses: [String] {
        let ips = spec?.clusterIPs ?? spec?.clusterIP.map { [$0] } ?? []
        return ips.filter { $0 != "None" && !$0.isEmpty }
    }
}

/// A ReplicaSet or a Job: only who owns it (a Deployment, a CronJob).
struct OwnedObject: KubernetesResource {
    var metadata: ObjectMeta
}

/// `{"kind": "PodList", "metadata": {"resourceVersion": "…"}, "items": […]}`.
struct ObjectList<Item: KubernetesResource>: Decodable, Sendable {
    struct ListMeta: Decodable, Sendable { var resourceVersion: String? }
    var metadata: ListMeta
    var items: [Item]
}

/// One line of a watch stream: `{"type": "ADDED", "object": {…}}`. An `ERROR` event's object is
/// a `Status` (`code: 410` when the resource version is too old); a `BOOKMARK`'s carries only its
/// `metadata.resourceVersion`.
struct WatchEventHeader: Decodable, Sendable {
    struct Object: Decodable, Sendable {
        struct Meta: Decodable, Sendable { var resourceVersion: String? }
        var kind: String?
        var metadata: Meta?
        var code: Int?
        var reason: String?
        var message: String?
    }

    var type: String
    var object: Object
}

struct WatchEvent<Item: KubernetesResource>: Decodable, Sendable {
    var type: String
    var object: Item
}
