import Foundation
import Logging
import NIOCore

/// Keeps one kind of object in the cache: a list, then a watch from the list's resource version
/// (with bookmarks, so a quiet watch still moves its version on), watched again from the last
/// version seen when the server ends it; listed again on 410 Gone. Failures back off, and the
/// cache keeps what it had: records go on being named from it while the API is away.
struct Reflector<Resource: KubernetesResource>: Sendable {
    /// What the cache does with the objects.
    struct Sink: Sendable {
        var replace: @Sendable ([Resource]) -> Void
        var upsert: @Sendable (Resource) -> Void
        var delete: @Sendable (Resource) -> Void
    }

    /// `pods`, `services`: for logs and metric labels.
    let resource: String
    /// `/api/v1/pods`
    let path: String
    /// Extra selectors, already escaped: `fieldSelector=spec.nodeName%3Dnode-1`.
    let selector: String?
    let sink: Sink
    /// The server ends a watch after this (its `timeoutSeconds`); the client's deadline is a bit later.
    var watchTimeout: Duration = .seconds(300)

    func run(
        client: KubernetesAPIClient, metrics: KubernetesMetrics, logger: Logger,
        sleep: @Sendable (Duration) async throws -> Void
    ) async {
        var resourceVersion: String?
        var backoff = ReconnectBackoff()
        let decoder = JSONDecoder()
        let logger = logger.with("dnsflow.kubernetes.resource", resource)
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let body = try await client.get(path + (selector.map { "?\($0)" } ?? ""))
                    let list = try decoder.decode(ObjectList<Resource>.self, from: Data(body.readableBytesView))
                    sink.replace(list.items)
                    resourceVersion = list.metadata.resourceVersion
                    metrics.listed(resource, count: list.items.count)
                    logger.debug("Listed", metadata: ["dnsflow.kubernetes.objects": "\(list.items.count)"])
                }
                let query =
                    (selector.map { "\($0)&" } ?? "")
                    + "watch=1&allowWatchBookmarks=true&timeoutSeconds=\(watchTimeout.seconds)&resourceVersion="
                    + (resourceVersion ?? "")
                try await client.stream("\(path)?\(query)", deadline: watchTimeout + .seconds(30)) { line in
                    let data = Data(line.readableBytesView)
                    let header = try decoder.decode(WatchEventHeader.self, from: data)
                    switch header.type {
                    case "ADDED", "MODIFIED", "DELETED":
                        let event = try decoder.decode(WatchEvent<Resource>.self, from: data)
                        if header.type == "DELETED" { sink.delete(event.object) } else { sink.upsert(event.object) }
                        resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion
                        metrics.watchEvent(resource)
                        backoff.succeeded()
                    case "BOOKMARK":
                        resourceVersion = header.object.metadata?.resourceVersion ?? resourceVersion
                        backoff.succeeded()
                    case "ERROR":
                        throw KubernetesAPIError(
                            status: header.object.code ?? 0, path: path,
                            reason: header.object.message ?? header.object.reason ?? "watch error")
                    default:
                        throw KubernetesAPIError(status: 0, path: path, reason: "unknown watch event '\(header.type)'")
                    }
                    return true
                }
            } catch let error as KubernetesAPIError where error.isGone {
                // The version is older than the server keeps: the events between are lost, list again.
                resourceVersion = nil
                metrics.gone(resource)
                logger.info("Resource version expired: listing again", metadata: ["dnsflow.error": "\(error)"])
                // Listed at once the first time; a server that expires every watch at once is not hammered.
                let delay = backoff.delayAfterFailure()
                if backoff.failures > 1 {
                    do { try await sleep(delay) } catch { return }
                }
            } catch {
                if Task.isCancelled { return }
                metrics.failed(resource)
                let delay = backoff.delayAfterFailure()
                logger.warning(
                    "Kubernetes API request failed: names kept, retrying",
                    metadata: ["dnsflow.error": "\(error)", "dnsflow.retry_in": "\(delay)"])
                do { try await sleep(delay) } catch { return }
            }
        }
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var logger = self
        logger[metadataKey: key] = "\(value)"
        return logger
    }
}
