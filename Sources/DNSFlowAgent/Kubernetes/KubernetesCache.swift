import DNSFlowCore
import Synchronization

/// Names for what records carry: a pod by the UID its cgroup names, and an address as a
/// Service (by ClusterIP), a pod (by pod IP) or a node.
public protocol KubernetesNaming: Sendable {
    func pod(uid: String) -> KubernetesObject?
    func object(address: IPAddress) -> KubernetesObject?
}

/// The one cache the reflectors fill and the enrichment reads: the pods of this node, the
/// cluster's Services, and who owns the ReplicaSets and Jobs (their Deployments and CronJobs).
/// Its size is bounded by those: a pod is a few hundred bytes, a Service or an owner less.
/// Each object's strings are made once here and shared by every record named after it.
public final class KubernetesCache: KubernetesNaming {
    struct CachedPod {
        var object: KubernetesObject
        var addresses: [IPAddress]
        /// Its direct owner, resolved to the top one at lookup (its ReplicaSet may come later).
        var owner: ObjectMeta.OwnerReference?
    }

    struct OwnerKey: Hashable {
        var namespace: String
        var name: String
    }

    struct State {
        var pods: [String: CachedPod] = [:]
        /// Pods with their own addresses; hostNetwork pods share the node's and are found by cgroup.
        var podsByAddress: [IPAddress: String] = [:]
        var nodesByAddress: [IPAddress: KubernetesObject] = [:]
        var services: [OwnerKey: [IPAddress]] = [:]
        var servicesByAddress: [IPAddress: KubernetesObject] = [:]
        var replicaSetOwners: [OwnerKey: ObjectMeta.OwnerReference] = [:]
        var jobOwners: [OwnerKey: ObjectMeta.OwnerReference] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func pod(uid: String) -> KubernetesObject? {
        state.withLock { state in state.pods[uid].map { state.named($0) } }
    }

    public func object(address: IPAddress) -> KubernetesObject? {
        state.withLock { state in
            if let service = state.servicesByAddress[address] { return service }
            if let uid = state.podsByAddress[address], let pod = state.pods[uid] { return state.named(pod) }
            return state.nodesByAddress[address]
        }
    }

    var counts: (pods: Int, services: Int, owners: Int) {
        state.withLock { ($0.pods.count, $0.services.count, $0.replicaSetOwners.count + $0.jobOwners.count) }
    }

    // MARK: What the reflectors call

    var podSink: Reflector<PodResource>.Sink {
        .init(
            replace: { pods in self.state.withLock { $0.replacePods(pods) } },
            upsert: { pod in self.state.withLock { $0.upsert(pod) } },
            delete: { pod in self.state.withLock { $0.delete(pod) } })
    }

    var serviceSink: Reflector<ServiceResource>.Sink {
        .init(
            replace: { services in
                self.state.withLock { state in
                    state.services = [:]
                    state.servicesByAddress = [:]
                    for service in services { state.upsert(service) }
                }
            },
            upsert: { service in self.state.withLock { $0.upsert(service) } },
            delete: { service in self.state.withLock { $0.delete(service) } })
    }

    func ownerSink(
        _ owners: WritableKeyPath<State, [OwnerKey: ObjectMeta.OwnerReference]> & Sendable
    )
        -> Reflector<OwnedObject>.Sink
    {
        .init(
            replace: { objects in
                self.state.withLock { state in
                    state[keyPath: owners] = [:]
                    for object in objects { state[keyPath: owners][object.key] = object.metadata.owner }
                }
            },
            upsert: { object in self.state.withLock { $0[keyPath: owners][object.key] = object.metadata.owner } },
            delete: { object in self.state.withLock { $0[keyPath: owners][object.key] = nil } })
    }
}

extension KubernetesCache.State {
    /// The pod with its top owner: a ReplicaSet's Deployment, a Job's CronJob.
    func named(_ pod: KubernetesCache.CachedPod) -> KubernetesObject {
        var object = pod.object
        guard var owner = pod.owner else { return object }
        let key = KubernetesCache.OwnerKey(namespace: object.namespace, name: owner.name)
        let above =
            owner.kind == "ReplicaSet" ? replicaSetOwners[key] : owner.kind == "Job" ? jobOwners[key] : nil
        if let above { owner = above }
        object.ownerName = owner.name
        object.ownerType = owner.kind
        return object
    }

    mutating func replacePods(_ pods: [PodResource]) {
        self.pods = [:]
        podsByAddress = [:]
        nodesByAddress = [:]
        for pod in pods { upsert(pod) }
    }

    mutating func upsert(_ pod: PodResource) {
        guard let uid = pod.metadata.uid else { return }
        delete(pod)
        let node = pod.spec?.nodeName
        let hostNetwork = pod.spec?.hostNetwork ?? false
        let addresses = hostNetwork ? [] : pod.addresses.compactMap(IPAddress.init)
        let object = KubernetesObject(
            kind: .pod, name: pod.metadata.name, namespace: pod.metadata.namespace ?? "", hostName: node)
        pods[uid] = KubernetesCache.CachedPod(object: object, addresses: addresses, owner: pod.metadata.owner)
        for address in addresses { podsByAddress[address] = uid }
        if let node, let hostIP = pod.status?.hostIP.flatMap(IPAddress.init), nodesByAddress[hostIP] == nil {
            nodesByAddress[hostIP] = KubernetesObject(kind: .node, name: node, namespace: "", hostName: node)
        }
    }

    mutating func delete(_ pod: PodResource) {
        guard let uid = pod.metadata.uid, let old = pods.removeValue(forKey: uid) else { return }
        // A new pod may have taken the address already: only this pod's own entries go.
        for address in old.addresses where podsByAddress[address] == uid { podsByAddress[address] = nil }
    }

    mutating func upsert(_ service: ServiceResource) {
        delete(service)
        let key = service.key
        let addresses = service.addresses.compactMap(IPAddress.init)
        services[key] = addresses
        let object = KubernetesObject(kind: .service, name: key.name, namespace: key.namespace)
        for address in addresses { servicesByAddress[address] = object }
    }

    mutating func delete(_ service: ServiceResource) {
        guard let old = services.removeValue(forKey: service.key) else { return }
        for address in old { servicesByAddress[address] = nil }
    }
}

extension KubernetesResource {
    var key: KubernetesCache.OwnerKey {
        KubernetesCache.OwnerKey(namespace: metadata.namespace ?? "", name: metadata.name)
    }
}
