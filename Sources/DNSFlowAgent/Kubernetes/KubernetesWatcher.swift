import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// The Service that keeps the `KubernetesCache` filled: a reflector each for this node's pods,
/// the cluster's Services, ReplicaSets and Jobs (for the Deployments and CronJobs above pods).
public final class KubernetesWatcher: Service {
    public let cache: KubernetesCache
    private let client: KubernetesAPIClient
    private let reflectors: [@Sendable (KubernetesAPIClient, KubernetesMetrics, Logger) async -> Void]
    private let metrics: KubernetesMetrics
    private let logger: Logger

    public init(
        client: KubernetesAPIClient, nodeName: String, cache: KubernetesCache = KubernetesCache(),
        registry: PrometheusCollectorRegistry, logger: Logger
    ) {
        self.client = client
        self.cache = cache
        self.metrics = KubernetesMetrics(registry: registry)
        self.logger = logger
        let node = nodeName.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "."])) ?? nodeName
        let sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
        let pods = Reflector<PodResource>(
            resource: "pods", path: "/api/v1/pods", selector: "fieldSelector=spec.nodeName%3D\(node)",
            sink: cache.podSink)
        let services = Reflector<ServiceResource>(
            resource: "services", path: "/api/v1/services", selector: nil, sink: cache.serviceSink)
        let replicaSets = Reflector<OwnedObject>(
            resource: "replicasets", path: "/apis/apps/v1/replicasets", selector: nil,
            sink: cache.ownerSink(\.replicaSetOwners))
        let jobs = Reflector<OwnedObject>(
            resource: "jobs", path: "/apis/batch/v1/jobs", selector: nil, sink: cache.ownerSink(\.jobOwners))
        reflectors = [
            { await pods.run(client: $0, metrics: $1, logger: $2, sleep: sleep) },
            { await services.run(client: $0, metrics: $1, logger: $2, sleep: sleep) },
            { await replicaSets.run(client: $0, metrics: $1, logger: $2, sleep: sleep) },
            { await jobs.run(client: $0, metrics: $1, logger: $2, sleep: sleep) },
        ]
    }

    public func run() async throws {
        logger.info("Watching the Kubernetes API for pod and Service names")
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for reflector in self.reflectors {
                    group.addTask { await reflector(self.client, self.metrics, self.logger) }
                }
            }
        }
        await client.shutdown()
    }
}

extension KubernetesWatcher {
    /// The watcher `spec.agent.kubernetes` asks for, nil when off (or `auto` outside a cluster).
    public static func make(
        settings: KubernetesSettings, nodeName: String, registry: PrometheusCollectorRegistry, logger: Logger
    ) throws -> KubernetesWatcher? {
        guard let connection = try settings.connection() else {
            logger.info("Kubernetes names off: no service account mounted and no kubeconfig (spec.agent.kubernetes)")
            return nil
        }
        logger.info("Kubernetes API", metadata: ["dnsflow.kubernetes.server": "\(connection.server)"])
        return KubernetesWatcher(
            client: try KubernetesAPIClient(connection: connection), nodeName: nodeName, registry: registry,
            logger: logger)
    }
}
