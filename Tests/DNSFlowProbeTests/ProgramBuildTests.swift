import Testing

@testable import DNSFlowProbe

@Suite struct ProgramBuildTests {
    static let everything = KernelFeatures(btfTracepoints: true, compareAndSwap: true, tcpSocketHelper: true)

    @Test("auto takes BTF tracepoints, the slots and DNS over TCP on a kernel that has them all")
    func fastest() {
        let build = ProgramBuild(settings: ProbeSettings(), features: Self.everything, cgroupRoot: "/sys/fs/cgroup")
        #expect(build.tracepoints == .btf && build.pendingTable == .slots)
        #expect(build.cgroupRoot == "/sys/fs/cgroup")
        #expect(build.fallbacks.isEmpty)
    }

    @Test("auto falls back, feature by feature, and says why")
    func fallbacks() {
        let old = KernelFeatures(btfTracepoints: false, compareAndSwap: false, tcpSocketHelper: false)
        let build = ProgramBuild(settings: ProbeSettings(), features: old, cgroupRoot: "/sys/fs/cgroup")
        #expect(build.tracepoints == .classic && build.pendingTable == .hash && build.cgroupRoot == nil)
        #expect(build.fallbacks == [.classicTracepoints, .hashPendingTable, .noTCPSocketHelper])

        var noCAS = Self.everything
        noCAS.compareAndSwap = false
        let hash = ProgramBuild(settings: ProbeSettings(), features: noCAS, cgroupRoot: nil)
        #expect(hash.tracepoints == .btf && hash.pendingTable == .hash)
        #expect(hash.fallbacks == [.hashPendingTable, .noCgroup2Mount])
    }

    @Test("explicit settings are loaded as they are, whatever the probes say")
    func explicit() {
        let settings = ProbeSettings(tracepoints: .classic, pendingTable: .hash)
        let build = ProgramBuild(settings: settings, features: Self.everything, cgroupRoot: "/sys/fs/cgroup")
        #expect(build.tracepoints == .classic && build.pendingTable == .hash && build.fallbacks.isEmpty)

        let old = KernelFeatures(btfTracepoints: false, compareAndSwap: false, tcpSocketHelper: true)
        let forced = ProgramBuild(
            settings: ProbeSettings(tracepoints: .btf, pendingTable: .slots), features: old, cgroupRoot: nil)
        #expect(forced.tracepoints == .btf && forced.pendingTable == .slots)
    }

    @Test("without DNS over TCP asked for, no cgroup is used and nothing falls back")
    func noTCP() {
        let build = ProgramBuild(
            settings: ProbeSettings(dnsOverTCP: false), features: Self.everything, cgroupRoot: "/sys/fs/cgroup")
        #expect(build.cgroupRoot == nil && build.fallbacks.isEmpty)
    }

    @Test("PacketDrop loads kfree_skb where the kernel has its reason; else it falls back and the rest loads")
    func drops() {
        var features = Self.everything
        features.dropReasons = true
        let build = ProgramBuild(settings: ProbeSettings(packetDrops: true), features: features, cgroupRoot: "/")
        #expect(build.drops && build.fallbacks.isEmpty && BPFSkeleton.dropPrograms(build).count == 1)
        let off = ProgramBuild(settings: ProbeSettings(), features: features, cgroupRoot: "/")
        #expect(!off.drops && BPFSkeleton.dropPrograms(off).isEmpty, "off: not loaded")
        let old = ProgramBuild(settings: ProbeSettings(packetDrops: true), features: Self.everything, cgroupRoot: "/")
        #expect(!old.drops && old.fallbacks == [.noDropReasons] && old.tracepoints == .btf)
    }

    @Test("each build loads its own programs, two per hook kind")
    func programs() {
        var names: Set<String> = []
        for tracepoints in [ProbeSettings.Tracepoints.btf, .classic] {
            for table in [ProbeSettings.PendingTable.slots, .hash] {
                let build = ProgramBuild(
                    settings: ProbeSettings(tracepoints: tracepoints, pendingTable: table), features: Self.everything,
                    cgroupRoot: "/")
                let programs = BPFSkeleton.tracepointPrograms(build) + BPFSkeleton.cgroupPrograms(build)
                #expect(programs.count == 4)
                names.formUnion(programs.map { "\($0.program)" })
            }
        }
        #expect(names.count == 12, "\(names)")
    }
}
