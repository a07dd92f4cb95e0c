import Logging
import Synchronization

/// The cgroup v2 path of a cgroup id (what the kernel reports for a requester), for
/// `ContainerIdentity` to parse.
public protocol CgroupPathResolving: Sendable {
    /// Relative to the v2 root, as `/proc/<pid>/cgroup` writes it: `/machine.slice/libpod-….scope`.
    func path(cgroupId: UInt64) -> String?
}

/// cgroup v2 ids to paths: a cgroup's id is the inode of its directory in the v2 hierarchy.
///
/// Paths come from a walk of the hierarchy, kept until the next walk. An id the last walk did not
/// see (a container started since) walks again, at most once per `rescanInterval`, so ids that
/// never resolve (a cgroup already removed) cost one bounded walk per interval. Called on the
/// evictor's task, once per window's records; never on the packet path.
public final class CgroupPaths<C: Clock>: CgroupPathResolving where C.Duration == Duration {
    /// How far and how wide one walk goes. A node's containers sit 2 to 6 levels down (rootless
    /// podman: `user.slice/user-1000.slice/user@1000.service/user.slice/libpod-….scope/container`).
    public struct Bounds: Sendable {
        public var depth = 12
        public var directories = 100_000

        public init(depth: Int = 12, directories: Int = 100_000) {
            self.depth = depth
            self.directories = directories
        }
    }

    private struct State: Sendable {
        var paths: [UInt64: String] = [:]
        var lastWalk: C.Instant?
        var truncationLogged = false
    }

    private let hierarchy: CgroupHierarchy?
    private let bounds: Bounds
    private let clock: C
    private let rescanInterval: Duration
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameter hierarchy: where the v2 hierarchy is mounted; nil (no cgroup v2) resolves nothing.
    public init(
        hierarchy: CgroupHierarchy?, bounds: Bounds = Bounds(), rescanInterval: Duration = .milliseconds(500), clock: C,
        logger: Logger
    ) {
        self.hierarchy = hierarchy
        self.bounds = bounds
        self.rescanInterval = rescanInterval
        self.clock = clock
        self.logger = logger
    }

    public func path(cgroupId: UInt64) -> String? {
        guard let hierarchy else { return nil }
        return state.withLock { state in
            if let path = state.paths[cgroupId] { return path }
            let now = clock.now
            if let last = state.lastWalk, last.duration(to: now) < rescanInterval { return nil }
            state.lastWalk = now
            let (paths, complete) = walk(hierarchy)
            state.paths = paths
            if !complete && !state.truncationLogged {
                state.truncationLogged = true
                logger.warning(
                    "cgroup walk stopped at its bound: some requesters get no ContainerId",
                    metadata: [
                        "dnsflow.cgroup.root": "\(hierarchy.mountPoint)",
                        "dnsflow.cgroup.max_depth": "\(bounds.depth)",
                        "dnsflow.cgroup.max_directories": "\(bounds.directories)",
                    ])
            }
            return paths[cgroupId]
        }
    }

    /// Breadth first, so a bound cuts the deepest cgroups, not a whole subtree.
    private func walk(_ hierarchy: CgroupHierarchy) -> (paths: [UInt64: String], complete: Bool) {
        guard let rootInode = FileSystem.inode(of: hierarchy.mountPoint) else { return ([:], true) }
        var paths: [UInt64: String] = [rootInode: hierarchy.root]
        var level = [(directory: hierarchy.mountPoint, path: hierarchy.root)]
        for _ in 0..<bounds.depth {
            var next: [(directory: String, path: String)] = []
            for (directory, path) in level {
                for entry in FileSystem.entries(of: directory) ?? [] where entry.isDirectory {
                    guard paths.count < bounds.directories else { return (paths, false) }
                    let child = path == "/" ? "/\(entry.name)" : "\(path)/\(entry.name)"
                    paths[entry.inode] = child
                    next.append(("\(directory)/\(entry.name)", child))
                }
            }
            if next.isEmpty { return (paths, true) }
            level = next
        }
        return (paths, false)
    }
}

extension CgroupPaths where C == ContinuousClock {
    /// Over this host's v2 hierarchy, found in /proc/self/mountinfo.
    public convenience init(logger: Logger) {
        let mountinfo = FileSystem.contents(of: "/proc/self/mountinfo", limit: 1 << 20) ?? ""
        let hierarchy = CgroupHierarchy(mountinfo: mountinfo)
        if hierarchy == nil {
            logger.info("No cgroup v2 hierarchy mounted: requesters get no ContainerId or PodUid")
        }
        self.init(hierarchy: hierarchy, clock: ContinuousClock(), logger: logger)
    }
}

/// Where the cgroup v2 hierarchy is mounted, and which of its cgroups the mount shows at its top
/// (`/` on the host; a cgroup namespace or a bind mount shows a subtree).
public struct CgroupHierarchy: Sendable, Equatable {
    public var mountPoint: String
    public var root: String

    public init(mountPoint: String, root: String = "/") {
        self.mountPoint = mountPoint
        self.root = root
    }

    /// The cgroup2 mount in /proc/self/mountinfo: `/sys/fs/cgroup` (unified), or
    /// `/sys/fs/cgroup/unified` (systemd's hybrid mode) before any other.
    public init?(mountinfo: String) {
        var mounts: [CgroupHierarchy] = []
        for line in mountinfo.split(separator: "\n") {
            // id parent major:minor root mount-point options [optional fields] - type source options
            let fields = line.split(separator: " ")
            guard fields.count > 5, let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count,
                fields[separator + 1] == "cgroup2"
            else { continue }
            mounts.append(CgroupHierarchy(mountPoint: String(fields[4]), root: String(fields[3])))
        }
        let preferred = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        guard let mount = mounts.first(where: { preferred.contains($0.mountPoint) }) ?? mounts.first else {
            return nil
        }
        self = mount
    }
}
