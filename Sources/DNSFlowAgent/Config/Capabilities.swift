import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The Linux capabilities the agent needs, checked before libbpf runs: without them the kernel
/// answers EPERM from deep inside the loader, which names nothing.
public struct Capabilities: Sendable, Equatable {
    public enum Capability: Int, Sendable, CaseIterable, CustomStringConvertible {
        case netAdmin = 12
        case sysAdmin = 21
        case sysResource = 24
        case perfmon = 38
        case bpf = 39

        public var description: String {
            switch self {
            case .netAdmin: "CAP_NET_ADMIN"
            case .sysAdmin: "CAP_SYS_ADMIN"
            case .sysResource: "CAP_SYS_RESOURCE"
            case .perfmon: "CAP_PERFMON"
            case .bpf: "CAP_BPF"
            }
        }
    }

    /// The effective set (CapEff in /proc/self/status), one bit per capability number.
    public var effective: UInt64
    /// Capabilities held in any other user namespace (a rootless container) do not let a process
    /// use bpf(): the kernel checks them against the initial one.
    public var initialUserNamespace: Bool
    /// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK, which libbpf raises: that takes
    /// CAP_SYS_RESOURCE unless the hard limit is already unlimited.
    public var memlockCharged: Bool

    public init(effective: UInt64, initialUserNamespace: Bool, memlockCharged: Bool) {
        self.effective = effective
        self.initialUserNamespace = initialUserNamespace
        self.memlockCharged = memlockCharged
    }

    /// This process's.
    public static func current() -> Capabilities {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let capEff =
            status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }
            .flatMap { UInt64($0.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        // PROC_USER_INIT_INO: the inode number the kernel gives the initial user namespace.
        let userNamespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/user")) ?? ""
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit)
        return Capabilities(
            effective: capEff, initialUserNamespace: userNamespace == "user:[4026531837]",
            memlockCharged: kernelBefore(major: 5, minor: 11) && limit.rlim_max != rlim_t.max)
    }

    /// What is missing to load the programs and, with `attachesCgroup` (DNS over TCP), to attach
    /// the cgroup_skb ones. CAP_SYS_ADMIN stands in for CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN.
    public func missing(attachesCgroup: Bool) -> [Capability] {
        func has(_ capability: Capability) -> Bool {
            initialUserNamespace && effective & (1 << UInt64(capability.rawValue)) != 0
        }
        var needed: [Capability] = [.bpf, .perfmon]
        if attachesCgroup { needed.append(.netAdmin) }
        var missing = needed.filter { !has($0) && !has(.sysAdmin) }
        if memlockCharged && !has(.sysResource) { missing.append(.sysResource) }
        return missing
    }

    /// One line for the user, or nil when nothing is missing.
    public func refusal(attachesCgroup: Bool) -> String? {
        let missing = missing(attachesCgroup: attachesCgroup)
        guard !missing.isEmpty else { return nil }
        let names = missing.map(\.description).joined(separator: ", ")
        let scope = initialUserNamespace ? "" : " in the initial user namespace (this process runs in another one)"
        return
            "missing capabilities \(names)\(scope): the agent loads and attaches eBPF programs; run it as root or grant them"
    }

    private static func kernelBefore(major: Int, minor: Int) -> Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return (parts[0], parts[1]) < (major, minor)
    }
}
