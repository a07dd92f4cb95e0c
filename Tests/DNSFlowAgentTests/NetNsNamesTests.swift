import DNSFlowAgent
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

struct NetNsNamesTests {
    static let podmanId = "3f2a9c4e8b1d7f60a5e2c9b8d4f1a7e3c6b9d2f5a8e1c4b7d0f3a6e9c2b5d8f1"
    static let podId = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
    static let sidecarId = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"

    /// /run/netns, /proc and podman's containers.json as files the test writes.
    final class FakeHost {
        let root: URL
        var roots = NetNsNames.Roots()

        init() throws {
            root = FileManager.default.temporaryDirectory.appending(path: "dnsflow-netns-\(UUID().uuidString)")
            for directory in ["run/netns", "proc", "containers"] {
                try FileManager.default.createDirectory(
                    at: root.appending(path: directory), withIntermediateDirectories: true)
            }
            roots.netns = root.appending(path: "run/netns").path
            roots.proc = root.appending(path: "proc").path
            roots.podmanContainers = root.appending(path: "containers/containers.json").path
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        /// A name under /run/netns; here its inode is the file's own (no bind mount).
        func netns(_ name: String) throws -> UInt32 {
            let path = "\(roots.netns)/\(name)"
            #expect(FileManager.default.createFile(atPath: path, contents: Data()))
            let inode = try #require(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
            return try #require(UInt32(exactly: inode))
        }

        func process(_ pid: Int, netNs: UInt32, cgroup: String) throws {
            let directory = root.appending(path: "proc/\(pid)")
            try FileManager.default.createDirectory(
                at: directory.appending(path: "ns"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: directory.appending(path: "ns/net").path, withDestinationPath: "net:[\(netNs)]")
            try cgroup.write(to: directory.appending(path: "cgroup"), atomically: false, encoding: .utf8)
        }

        func podman(_ containers: String) throws {
            try containers.write(toFile: roots.podmanContainers, atomically: false, encoding: .utf8)
        }
    }

    @Test func namesFromIpNetnsThenContainers() throws {
        let host = try FakeHost()
        let blue = try host.netns("blue")
        let (hostNs, podmanNs, podNs, plainNs): (UInt32, UInt32, UInt32, UInt32) =
            (4_026_531_840, 4_026_532_301, 4_026_532_302, 4_026_532_303)
        try host.process(1, netNs: hostNs, cgroup: "0::/init.scope\n")
        // A host-network container shares the host's namespace: that stays unnamed.
        try host.process(7, netNs: hostNs, cgroup: "0::/system.slice/docker-\(Self.podId).scope\n")
        try host.process(40, netNs: blue, cgroup: "0::/machine.slice/libpod-\(Self.podmanId).scope/container\n")
        try host.process(50, netNs: podmanNs, cgroup: "0::/machine.slice/libpod-\(Self.podmanId).scope/container\n")
        // A pod: the sandbox has the lowest pid, a sidecar shares its namespace.
        let pod = "/kubepods.slice/kubepods-pod6b0d4c2e_8f1a_4b3c_9d5e_7f2a1c0b9e8d.slice"
        try host.process(60, netNs: podNs, cgroup: "0::\(pod)/cri-containerd-\(Self.podId).scope\n")
        try host.process(61, netNs: podNs, cgroup: "0::\(pod)/cri-containerd-\(Self.sidecarId).scope\n")
        // cgroup v1 lines only (hybrid mode, v2 path "/"): the container is read from them.
        try host.process(70, netNs: plainNs, cgroup: "12:pids:/docker/\(Self.sidecarId)\n0::/\n")
        try host.podman(#"[{"id":"\#(Self.podmanId)","names":["web"],"image":"abc","layer":"def"}]"#)

        let names = NetNsNames(roots: host.roots, logger: Logger(label: "test"))
        #expect(names.name(netNs: blue) == nil, "nothing before the first scan")
        names.refresh()
        #expect(names.name(netNs: blue) == "blue")
        #expect(names.name(netNs: hostNs) == nil)
        #expect(names.name(netNs: podmanNs) == "web")
        #expect(names.name(netNs: podNs) == String(Self.podId.prefix(12)))
        #expect(names.name(netNs: plainNs) == String(Self.sidecarId.prefix(12)))

        // A refresh replaces every name: a namespace no longer mounted is named after its
        // container, one with no process left loses its name.
        try FileManager.default.removeItem(atPath: "\(host.roots.netns)/blue")
        try FileManager.default.removeItem(atPath: "\(host.roots.proc)/50")
        names.refresh()
        #expect(names.name(netNs: blue) == "web")
        #expect(names.name(netNs: podmanNs) == nil)
        #expect(names.name(netNs: podNs) == String(Self.podId.prefix(12)))
    }

    @Test func withoutPodmansListTheShortIdNamesTheNamespace() throws {
        let host = try FakeHost()
        try host.process(50, netNs: 4_026_532_301, cgroup: "0::/machine.slice/libpod-\(Self.podmanId).scope\n")
        let names = NetNsNames(roots: host.roots, logger: Logger(label: "test"))
        names.refresh()
        #expect(names.name(netNs: 4_026_532_301) == "3f2a9c4e8b1d")
    }

    /// As root: a namespace `ip netns add` makes is named by the real scan of /run/netns.
    @Test(.enabled(if: geteuid() == 0, "needs root to add a network namespace"))
    func ipNetnsNameResolves() throws {
        let name = "dnsflow-t-\(getpid())-\(UInt16.random(in: .min ... .max))"
        try ip(["netns", "add", name])
        defer { try? ip(["netns", "delete", name]) }
        let attributes = try FileManager.default.attributesOfItem(atPath: "/run/netns/\(name)")
        let inode = try #require(attributes[.systemFileNumber] as? UInt64)
        let names = NetNsNames(logger: Logger(label: "test"))
        names.refresh()
        #expect(names.name(netNs: try #require(UInt32(exactly: inode))) == name)
    }

    private func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw IPFailed(arguments: arguments) }
    }

    struct IPFailed: Error { let arguments: [String] }
}
