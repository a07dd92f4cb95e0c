/// The programs of bpf/dnsflow.bpf.c to load, chosen once, before the load, from the settings
/// and the kernel's features.
struct ProgramBuild: Hashable, Sendable {
    /// Why a build other than the fastest (or DNS over TCP left out) was chosen.
    enum Fallback: String, Hashable, Sendable {
        case classicTracepoints = "classic_tracepoints"
        case hashPendingTable = "hash_pending_table"
        case noCgroup2Mount = "no_cgroup2_mount"
        case noTCPSocketHelper = "no_tcp_socket_helper"
        case noDropReasons = "no_drop_reasons"

        var reason: String {
            switch self {
            case .classicTracepoints: "the kernel has no BTF raw tracepoints (tp_btf, Linux 5.5)"
            case .hashPendingTable: "the kernel has no BPF compare-and-swap (Linux 5.12)"
            case .noCgroup2Mount: "no cgroup v2 mount in /proc/mounts: DNS over TCP is not tracked"
            case .noTCPSocketHelper: "the kernel lacks bpf_skc_to_tcp_sock (Linux 5.9): DNS over TCP is not tracked"
            case .noDropReasons:
                "the kernel has no tp_btf/kfree_skb with a drop reason (Linux 5.17): DNS packet drops are not tracked"
            }
        }
    }

    /// `btf` or `classic`, never `auto`.
    var tracepoints: ProbeSettings.Tracepoints
    /// `slots` or `hash`, never `auto`.
    var pendingTable: ProbeSettings.PendingTable
    /// Where the `cgroup_skb` programs attach; nil leaves DNS over TCP untracked.
    var cgroupRoot: String?
    /// The `kfree_skb` program (PacketDrop) is loaded.
    var drops: Bool
    var fallbacks: [Fallback]

    /// `auto` settings take the fastest build the kernel offers; explicit ones are loaded as they are.
    /// - Parameter cgroupRoot: where cgroup v2 is mounted, if it is.
    init(settings: ProbeSettings, features: KernelFeatures, cgroupRoot: String?) {
        var fallbacks: [Fallback] = []
        tracepoints = Self.choose(
            settings.tracepoints, fastest: .btf, available: features.btfTracepoints, else: .classic,
            .classicTracepoints, &fallbacks)
        pendingTable = Self.choose(
            settings.pendingTable, fastest: .slots, available: features.compareAndSwap, else: .hash,
            .hashPendingTable, &fallbacks)
        self.cgroupRoot = nil
        if settings.dnsTracking && settings.dnsOverTCP {
            if cgroupRoot == nil {
                fallbacks.append(.noCgroup2Mount)
            } else if !features.tcpSocketHelper {
                fallbacks.append(.noTCPSocketHelper)
            } else {
                self.cgroupRoot = cgroupRoot
            }
        }
        drops = settings.dnsTracking && settings.packetDrops && features.dropReasons
        if settings.dnsTracking && settings.packetDrops && !features.dropReasons { fallbacks.append(.noDropReasons) }
        self.fallbacks = fallbacks
    }

    /// An explicit setting as it is; `auto` the fastest where the kernel has its feature, else
    /// `fallback`, noted with its reason.
    private static func choose<Choice: RawRepresentable<String>>(
        _ setting: Choice, fastest: Choice, available: Bool, else fallback: Choice, _ reason: Fallback,
        _ fallbacks: inout [Fallback]
    ) -> Choice {
        guard setting.rawValue == "auto" else { return setting }
        if available { return fastest }
        fallbacks.append(reason)
        return fallback
    }
}
