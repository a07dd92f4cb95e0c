import DNSFlowAgent
import Foundation
import Logging
import Testing

/// Over a directory tree laid out as a node's cgroup v2 hierarchy: a cgroup's id is its
/// directory's inode, on cgroupfs as here.
struct CgroupPathsTests {
    static let id = "3f2a9c4e8b1d7f60a5e2c9b8d4f1a7e3c6b9d2f5a8e1c4b7d0f3a6e9c2b5d8f1"

    /// A fresh tree, removed when the test ends.
    final class Tree {
        let root: URL

        init() throws {
            root = FileManager.default.temporaryDirectory.appending(path: "dnsflow-cgroup-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// Makes the cgroup and returns its id.
        @discardableResult
        func make(_ path: String) throws -> UInt64 {
            let url = root.appending(path: String(path.dropFirst()))
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            // Control files, as in a real cgroup: not cgroups themselves.
            #expect(FileManager.default.createFile(atPath: url.appending(path: "cgroup.procs").path, contents: Data()))
            return try inode(path)
        }

        func inode(_ path: String) throws -> UInt64 {
            let url = path == "/" ? root : root.appending(path: String(path.dropFirst()))
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            return try #require(attributes[.systemFileNumber] as? UInt64)
        }
    }

    private func paths(
        _ tree: Tree, root: String = "/", bounds: CgroupPaths<ManualClock>.Bounds = .init(), clock: ManualClock
    ) -> CgroupPaths<ManualClock> {
        CgroupPaths(
            hierarchy: CgroupHierarchy(mountPoint: tree.root.path, root: root), bounds: bounds,
            rescanInterval: .seconds(2), clock: clock, logger: Logger(label: "test"))
    }

    @Test func idsResolveToPathsFromTheRoot() throws {
        let tree = try Tree()
        let container = try tree.make("/machine.slice/libpod-\(Self.id).scope/container")
        let pod = try tree.make(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b0d4c2e_8f1a_4b3c_9d5e_7f2a1c0b9e8d.slice")
        let cgroups = paths(tree, clock: ManualClock())
        #expect(cgroups.path(cgroupId: container) == "/machine.slice/libpod-\(Self.id).scope/container")
        #expect(cgroups.path(cgroupId: try tree.inode("/machine.slice")) == "/machine.slice")
        #expect(cgroups.path(cgroupId: try tree.inode("/")) == "/")
        #expect(
            cgroups.path(cgroupId: pod)?.hasSuffix("kubepods-burstable-pod6b0d4c2e_8f1a_4b3c_9d5e_7f2a1c0b9e8d.slice")
                == true)
        let control = try tree.inode("/machine.slice/libpod-\(Self.id).scope/container/cgroup.procs")
        #expect(cgroups.path(cgroupId: control) == nil, "files are not cgroups")
    }

    /// A mount that shows a subtree (a cgroup namespace) gives paths from the hierarchy's root.
    @Test func pathsStartAtTheMountsRoot() throws {
        let tree = try Tree()
        let container = try tree.make("/libpod-\(Self.id).scope")
        let cgroups = paths(tree, root: "/machine.slice", clock: ManualClock())
        #expect(cgroups.path(cgroupId: container) == "/machine.slice/libpod-\(Self.id).scope")
    }

    @Test func aMissWalksAgainAtMostOncePerInterval() throws {
        let tree = try Tree()
        let system = try tree.make("/system.slice")
        let clock = ManualClock()
        let cgroups = paths(tree, clock: clock)
        #expect(cgroups.path(cgroupId: system) == "/system.slice")
        // Started after the first walk: not seen until the interval has passed.
        let late = try tree.make("/machine.slice/libpod-\(Self.id).scope")
        clock.advance(by: .seconds(1))
        #expect(cgroups.path(cgroupId: late) == nil)
        clock.advance(by: .seconds(1))
        #expect(cgroups.path(cgroupId: late) == "/machine.slice/libpod-\(Self.id).scope")
        // A known id never walks again: a cgroup removed since resolves until a miss walks.
        try FileManager.default.removeItem(at: tree.root.appending(path: "system.slice"))
        clock.advance(by: .seconds(5))
        #expect(cgroups.path(cgroupId: system) == "/system.slice")
        #expect(cgroups.path(cgroupId: 1) == nil)
        #expect(cgroups.path(cgroupId: system) == nil, "the walk after the miss no longer saw it")
    }

    @Test func aWalkIsBoundedInDepthAndCount() throws {
        let tree = try Tree()
        let deep = try tree.make("/a/b/c/d")
        let shallow = try tree.make("/a/b")
        let clock = ManualClock()
        let byDepth = paths(tree, bounds: .init(depth: 2), clock: clock)
        #expect(byDepth.path(cgroupId: shallow) == "/a/b")
        #expect(byDepth.path(cgroupId: deep) == nil)

        for index in 0..<10 { try tree.make("/many/\(index)") }
        // The root, /a and /many: breadth first, the bound cuts the deepest level.
        let byCount = paths(tree, bounds: .init(directories: 3), clock: clock)
        #expect(byCount.path(cgroupId: try tree.inode("/many")) == "/many")
        #expect(byCount.path(cgroupId: try tree.inode("/many/0")) == nil)
    }

    @Test func noHierarchyResolvesNothing() {
        let cgroups = CgroupPaths(hierarchy: nil, clock: ManualClock(), logger: Logger(label: "test"))
        #expect(cgroups.path(cgroupId: 1) == nil)
    }

    @Test(arguments: [
        // unified
        (
            """
            25 30 0:22 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:7 - securityfs securityfs rw
            28 30 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
            """,
            CgroupHierarchy(mountPoint: "/sys/fs/cgroup")
        ),
        // systemd's hybrid mode: v1 controllers, the v2 hierarchy at unified
        (
            """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """,
            CgroupHierarchy(mountPoint: "/sys/fs/cgroup/unified")
        ),
        // inside a container with a cgroup namespace of its own, and a second mount elsewhere
        (
            """
            612 600 0:25 /../.. /mnt/cgroup ro,relatime - cgroup2 cgroup2 rw
            613 600 0:25 /kubepods.slice/x.scope /sys/fs/cgroup ro,relatime master:9 - cgroup2 cgroup2 rw
            """,
            CgroupHierarchy(mountPoint: "/sys/fs/cgroup", root: "/kubepods.slice/x.scope")
        ),
    ])
    func findsTheHierarchyInMountinfo(mountinfo: String, expected: CgroupHierarchy) {
        #expect(CgroupHierarchy(mountinfo: mountinfo) == expected)
    }

    @Test func cgroupV1OnlyHasNoHierarchy() {
        #expect(CgroupHierarchy(mountinfo: "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n") == nil)
    }

    /// On this host, without root: the v2 root's id is its directory's inode, and resolves to "/".
    @Test func thisHostsRootResolves() throws {
        let mountinfo = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let hierarchy = try #require(CgroupHierarchy(mountinfo: mountinfo), "no cgroup v2 here")
        let attributes = try FileManager.default.attributesOfItem(atPath: hierarchy.mountPoint)
        let rootId = try #require(attributes[.systemFileNumber] as? UInt64)
        let cgroups = CgroupPaths(hierarchy: hierarchy, clock: ManualClock(), logger: Logger(label: "test"))
        #expect(cgroups.path(cgroupId: rootId) == hierarchy.root)
    }
}
