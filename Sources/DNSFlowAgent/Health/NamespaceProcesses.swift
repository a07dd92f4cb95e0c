import DNSFlowCore
import Synchronization

/// A process in each network namespace, to read the namespace's files through: its resolv.conf under
/// `/proc/PID/root` (the process's own mounts: `ip netns exec`'s bind mount, a container's file) and its
/// `/proc/PID/net` counters (the namespace's). Of a namespace's processes the lowest pid in a mount
/// namespace other than the agent's is taken, else the lowest: a pod's sandbox, a container's init.
///
/// `searchList(netNs:)` answers from a cache; a namespace it has not seen rescans /proc, at most once per
/// `rescanInterval`, so a namespace made since the last scan is known by its first resolution.
public final class NamespaceProcesses: Sendable {
    public static var rescanInterval: Duration { .seconds(1) }
    /// How long a namespace's resolv.conf is taken as read.
    public static var fileLifetime: Duration { .seconds(10) }

    private struct State {
        var pids: [UInt32: UInt32] = [:]
        var lastScan: ContinuousClock.Instant?
        var lists: [UInt32: (list: SearchList?, read: ContinuousClock.Instant)] = [:]
    }

    private let proc: String
    private let state = Mutex(State())

    public init(proc: String = "/proc") {
        self.proc = proc
    }

    /// The namespace's search list, nil when no process in it is found or its resolv.conf has none.
    public func searchList(netNs: UInt32) -> SearchList? {
        let now = ContinuousClock.now
        if let cached = state.withLock({ $0.lists[netNs] }), now - cached.read < Self.fileLifetime {
            return cached.list
        }
        let list = pid(netNs: netNs).flatMap { pid in
            FileSystem.contents(of: "\(proc)/\(pid)/root/etc/resolv.conf").map { SearchList(resolvConf: $0[...]) }
        }
        state.withLock { $0.lists[netNs] = (list, now) }
        return list
    }

    /// A process in the namespace, rescanning /proc when it is not known (rate-limited).
    public func pid(netNs: UInt32) -> UInt32? {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let pid = state.pids[netNs],
                FileSystem.link("\(proc)/\(pid)/ns/net").flatMap(NetNsNames.netNsInode) == netNs
            {
                return pid
            }
            guard state.lastScan.map({ now - $0 >= Self.rescanInterval }) ?? true else { return nil }
            state.lastScan = now
            state.pids = scan()
            return state.pids[netNs]
        }
    }

    private func scan() -> [UInt32: UInt32] {
        let ownMounts = FileSystem.link("\(proc)/self/ns/mnt")
        var chosen: [UInt32: (pid: UInt32, ownMounts: Bool)] = [:]
        let pids = (FileSystem.entries(of: proc) ?? []).compactMap { UInt32($0.name) }.sorted()
        for pid in pids {
            guard let netNs = FileSystem.link("\(proc)/\(pid)/ns/net").flatMap(NetNsNames.netNsInode) else { continue }
            let own = FileSystem.link("\(proc)/\(pid)/ns/mnt") != ownMounts
            if let known = chosen[netNs], known.ownMounts || !own { continue }
            chosen[netNs] = (pid, own)
        }
        return chosen.mapValues(\.pid)
    }
}
