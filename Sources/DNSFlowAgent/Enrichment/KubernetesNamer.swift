import DNSFlowCore

/// Puts the Kubernetes objects on a record: the client pod of a lookup from its cgroup's pod
/// UID when the query left a socket here (hostNetwork pods included), else each end by address
/// (a ClusterIP is its Service, a pod IP its pod, a node's address its node); a lookup's server
/// after translation as `XlatDstK8S_*`, when it is a pod.
struct KubernetesNamer {
    let names: any KubernetesNaming

    /// Returns false when the record's pod UID is not (yet) in the cache: the record goes on,
    /// named by address if it can be.
    func name(_ record: inout FlowRecord, podUid: String?) -> Bool {
        var known = true
        if let podUid {
            let pod = names.pod(uid: podUid)
            known = pod != nil
            record.srcK8S = pod ?? names.object(address: record.srcAddr)
        } else {
            record.srcK8S = names.object(address: record.srcAddr)
        }
        record.dstK8S = names.object(address: record.dstAddr)
        if let translated = record.xlatDstAddr, let server = names.object(address: translated), server.kind == .pod {
            record.xlatDstK8S = server
        }
        return known
    }
}
