import DNSFlowCore
import Prometheus
import Synchronization

/// The agent's enrichment: names for namespaces (records and stages), the requester's container
/// and pod from its cgroup, for flows the name their client resolved the destination from, and
/// (with the Kubernetes API) the pods, Services and nodes at both ends.
/// A window's transactions are learned before its flows are named, so a connection made right
/// after its lookup is named in the same window.
public final class RecordEnricher: RecordEnriching {
    private let netNsNames: any NetNsNaming
    private let cgroupPaths: any CgroupPathResolving
    private let resolvedNames: Mutex<ResolvedNames>
    private let metrics: EnrichmentMetrics
    private let kubernetes: KubernetesNamer?
    /// Only touched under `resolvedNames`' lock.
    private nonisolated(unsafe) let namespaceMetrics: NamespaceDNSMetrics

    /// - Parameter resolvedNames: the capacity of the (client, answer) table, `dnsTracking.resolvedNames`.
    /// - Parameter kubernetes: names from the API server; nil leaves the `K8S_` fields empty.
    public init(
        netNsNames: any NetNsNaming, cgroupPaths: any CgroupPathResolving, resolvedNames: Int,
        kubernetes: (any KubernetesNaming)? = nil, registry: PrometheusCollectorRegistry
    ) {
        self.netNsNames = netNsNames
        self.cgroupPaths = cgroupPaths
        self.resolvedNames = Mutex(ResolvedNames(capacity: resolvedNames))
        self.metrics = EnrichmentMetrics(registry: registry)
        self.kubernetes = kubernetes.map(KubernetesNamer.init)
        self.namespaceMetrics = NamespaceDNSMetrics(registry: registry)
    }

    public func enrich(_ records: inout [FlowRecord]) {
        resolvedNames.withLock { resolvedNames in
            var evicted = 0
            // Read in place: a record copied is a retain and a release of each of its arrays.
            records.withUnsafeBufferPointer { records in
                for index in records.indices where records[index].isTransaction {
                    evicted += resolvedNames.learn(records[index])
                }
            }
            if evicted > 0 { metrics.resolvedNamesEvicted.increment(by: Int64(evicted)) }
            // A window's transactions mostly come from a few processes: one cgroup parse each.
            var identities: [UInt64: ContainerIdentity] = [:]
            for index in records.indices {
                if let name = netNsNames.name(netNs: records[index].netNs) { records[index].netNsName = name }
                if records[index].isTransaction {
                    for stage in records[index].dnsStages.indices {
                        records[index].dnsStages[stage].netNsName = netNsNames.name(
                            netNs: records[index].dnsStages[stage].netNs)
                    }
                    guard let cgroupId = records[index].requester?.cgroupId else { continue }
                    let identity = identities[cgroupId] ?? identity(cgroupId: cgroupId)
                    identities[cgroupId] = identity
                    records[index].requester?.containerId = identity.containerId
                    records[index].requester?.podUid = identity.podUid
                } else if !records[index].isDNS {
                    records[index].dstDnsName = resolvedNames.name(
                        client: records[index].srcAddr, destination: records[index].dstAddr,
                        startMs: records[index].timeFlowStartMs)
                }
            }
            nameKubernetesObjects(&records)
        }
    }

    /// After the requesters' pod UIDs are known; counts the lookups by namespace.
    private func nameKubernetesObjects(_ records: inout [FlowRecord]) {
        var unknownPods = 0
        for index in records.indices {
            if let kubernetes, !kubernetes.name(&records[index], podUid: records[index].requester?.podUid) {
                unknownPods += 1
            }
            if records[index].isTransaction { namespaceMetrics.count(records[index]) }
        }
        if unknownPods > 0 { metrics.unknownPods.increment(by: Int64(unknownPods)) }
    }

    private func identity(cgroupId: UInt64) -> ContainerIdentity {
        cgroupPaths.path(cgroupId: cgroupId).map { ContainerIdentity(cgroupPath: $0) } ?? ContainerIdentity()
    }
}
