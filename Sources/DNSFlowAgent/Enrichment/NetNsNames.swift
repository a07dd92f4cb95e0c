import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A name for a network namespace, by its inode number (a record's `NetNs`).
public protocol NetNsNaming: Sendable {
    func name(netNs: UInt32) -> String?
}

/// Network namespace names: the `ip netns` name where there is one (the bind mounts in
/// /run/netns), else the container a process in the namespace runs in: its podman name, or its
/// short id. A namespace several containers share (a pod, a podman pod) is named after the one
/// with the lowest pid, the sandbox that was started first; one whose lowest pid is in no
/// container (the host's) has no name.
///
/// A Service scans every `refreshInterval`; a lookup is a dictionary read under a lock.
public final class NetNsNames: NetNsNaming, Service {
    /// Where the scan looks; tests point these at a directory tree of their own.
    public struct Roots: Sendable {
        public var netns = "/run/netns"
        public var proc = "/proc"
        /// containers/storage's list of containers, with their names (podman, buildah; rootful).
        public var podmanContainers = "/var/lib/containers/storage/overlay-containers/containers.json"

        public init() {}
    }

    /// A scan reads a link per process and a cgroup file per namespace (~3 ms for 100 processes
    /// in a debug build on a VM whose system calls take ~8 µs): every default `cacheActiveTimeout`.
    /// A namespace made less than this before its first records may see them go out unnamed.
    public static var refreshInterval: Duration { .seconds(5) }

    private let roots: Roots
    private let logger: Logger
    private let names = Mutex<[UInt32: String]>([:])

    public init(roots: Roots = Roots(), logger: Logger) {
        self.roots = roots
        self.logger = logger
    }

    public func name(netNs: UInt32) -> String? {
        names.withLock { $0[netNs] }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.refresh()
                try? await Task.sleep(for: Self.refreshInterval)
            }
        }
    }

    /// Scans now and replaces every name.
    public func refresh() {
        let scanned = scan()
        names.withLock { $0 = scanned }
        logger.trace("Network namespace names refreshed", metadata: ["dnsflow.netns.named": "\(scanned.count)"])
    }

    private func scan() -> [UInt32: String] {
        var names: [UInt32: String] = [:]
        // Sorted, so a namespace mounted under two names always shows the same one.
        for entry in (FileSystem.entries(of: roots.netns) ?? []).sorted(by: { $0.name < $1.name }) {
            guard let inode = FileSystem.inode(of: "\(roots.netns)/\(entry.name)"), let netNs = UInt32(exactly: inode)
            else { continue }
            if names[netNs] == nil { names[netNs] = entry.name }
        }
        var decided = Set(names.keys)
        var containers: [UInt32: ContainerIdentity] = [:]
        let pids = (FileSystem.entries(of: roots.proc) ?? []).compactMap { UInt32($0.name) }.sorted()
        for pid in pids {
            let process = "\(roots.proc)/\(pid)"
            guard let link = FileSystem.link("\(process)/ns/net"), let netNs = Self.netNsInode(link: link),
                decided.insert(netNs).inserted
            else { continue }
            let cgroups = FileSystem.contents(of: "\(process)/cgroup") ?? ""
            if let container = Self.container(cgroupFile: cgroups) { containers[netNs] = container }
        }
        guard !containers.isEmpty else { return names }
        let podmanNames = Self.podmanNames(at: roots.podmanContainers)
        for (netNs, container) in containers {
            names[netNs] = container.containerId.flatMap { podmanNames[$0] } ?? container.shortContainerId
        }
        return names
    }

    /// `net:[4026532281]` → 4026532281.
    static func netNsInode(link: String) -> UInt32? {
        guard link.hasPrefix("net:["), link.hasSuffix("]") else { return nil }
        return UInt32(link.dropFirst("net:[".count).dropLast())
    }

    /// The container any of a process's cgroups names (`hierarchy:controllers:path` lines; the
    /// v2 one is `0::path`).
    static func container(cgroupFile: String) -> ContainerIdentity? {
        for line in cgroupFile.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let identity = ContainerIdentity(cgroupPath: fields[2])
            if identity.containerId != nil { return identity }
        }
        return nil
    }

    /// containers/storage's `[{"id": "…", "names": ["web"], …}]`: id → first name.
    private static func podmanNames(at path: String) -> [String: String] {
        struct Container: Decodable {
            var id: String
            var names: [String]?
        }
        guard let data = FileManager.default.contents(atPath: path),
            let containers = try? JSONDecoder().decode([Container].self, from: data)
        else { return [:] }
        var names: [String: String] = [:]
        for container in containers {
            if let name = container.names?.first { names[container.id] = name }
        }
        return names
    }
}
