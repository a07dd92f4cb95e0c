import CBPF

#if canImport(Glibc)
    import Glibc
#endif

/// The generated skeleton of bpf/dnsflow.bpf.c (`struct dnsflow_bpf`): opened with the settings
/// written into its `.rodata` and only the chosen build's programs loaded. The only owner of the
/// object, its maps, programs and links; links are not pinned, so they die with the process, even
/// on SIGKILL.
final class BPFSkeleton {
    /// One program of the skeleton and the slot of its link.
    struct Program {
        let program: KeyPath<dnsflow_bpf, OpaquePointer?>
        let link: WritableKeyPath<dnsflow_bpf, OpaquePointer?>
    }

    let build: ProgramBuild
    private let skeleton: UnsafeMutablePointer<dnsflow_bpf>

    /// Opens, configures and loads; nothing is attached yet.
    init(settings: ProbeSettings, build: ProgramBuild) throws(ProbeError) {
        guard let skeleton = dnsflow_bpf__open() else { throw .openingObject(errno: errno) }
        self.skeleton = skeleton
        self.build = build
        let rodata = skeleton.pointee.rodata!
        rodata.pointee.sampling = max(settings.sampling, 1)
        rodata.pointee.pending_slots_mask = settings.pendingSlots - 1
        rodata.pointee.dns_tracking = settings.dnsTracking ? 1 : 0
        rodata.pointee.dns_answers = settings.answers ? 1 : 0
        let ports = settings.dnsPorts.prefix(Int(DNSFLOW_MAX_DNS_PORTS))
        rodata.pointee.dns_port_count = UInt8(ports.count)
        withUnsafeMutableBytes(of: &rodata.pointee.dns_ports) { raw in
            for (i, port) in ports.enumerated() { raw.storeBytes(of: port, toByteOffset: i * 2, as: UInt16.self) }
        }
        let maps = skeleton.pointee.maps
        for (name, map, entries) in [
            ("flows", maps.flows, settings.maxFlows), ("dns_pending", maps.dns_pending, settings.pendingSlots),
            ("dns_pending_detail", maps.dns_pending_detail, settings.pendingSlots),
            ("dns_queries", maps.dns_queries, settings.maxPendingQueries),
            ("dns_events", maps.dns_events, settings.ringBufferBytes),
        ] {
            let err = bpf_map__set_max_entries(map, entries)
            guard err == 0 else { throw .sizingMap(name, to: entries, errno: err) }
        }
        let chosen = Set(
            (Self.tracepointPrograms(build) + (build.cgroupRoot != nil ? Self.cgroupPrograms(build) : [])
                + Self.dropPrograms(build))
                .map { skeleton.pointee[keyPath: $0.program] })
        var program = bpf_object__next_program(skeleton.pointee.obj, nil)
        while let current = program {
            bpf_program__set_autoload(current, chosen.contains(current))
            program = bpf_object__next_program(skeleton.pointee.obj, current)
        }
        let err = dnsflow_bpf__load(skeleton)
        guard err == 0 else { throw .loading(build, errno: err, libbpfLog: LibbpfLog.takeLines()) }
    }

    deinit {
        dnsflow_bpf__destroy(skeleton)
    }

    var maps: dnsflow_bpf.__Unnamed_struct_maps { skeleton.pointee.maps }

    /// Attaches the build's programs; returns how many.
    func attach() throws(ProbeError) -> Int {
        if build.tracepoints == .classic { try TraceFS.mount() }
        let tracepoints = Self.tracepointPrograms(build) + Self.dropPrograms(build)
        for program in tracepoints {
            guard let link = bpf_program__attach(skeleton.pointee[keyPath: program.program]) else {
                throw .attaching(name(program), errno: errno, libbpfLog: LibbpfLog.takeLines())
            }
            skeleton.pointee[keyPath: program.link] = link
        }
        guard let cgroupRoot = build.cgroupRoot else { return tracepoints.count }
        let fd = open(cgroupRoot, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw .openingCgroup(cgroupRoot, errno: errno) }
        defer { close(fd) }
        let cgroup = Self.cgroupPrograms(build)
        for program in cgroup {
            guard let link = bpf_program__attach_cgroup(skeleton.pointee[keyPath: program.program], fd) else {
                throw .attachingCgroup(name(program), to: cgroupRoot, errno: errno, libbpfLog: LibbpfLog.takeLines())
            }
            skeleton.pointee[keyPath: program.link] = link
        }
        return tracepoints.count + cgroup.count
    }

    /// Destroys every link: the programs stop running.
    func detach() {
        dnsflow_bpf__detach(skeleton)
    }

    /// Run time and run count of each loaded program.
    func programStats() -> [ProgramStats] {
        var stats: [ProgramStats] = []
        var program = bpf_object__next_program(skeleton.pointee.obj, nil)
        while let current = program {
            let fd = bpf_program__fd(current)
            var info = bpf_prog_info()
            var length = UInt32(MemoryLayout<bpf_prog_info>.size)
            if fd >= 0, bpf_obj_get_info_by_fd(fd, &info, &length) == 0 {
                stats.append(
                    ProgramStats(
                        name: String(cString: bpf_program__name(current)), runTimeNs: info.run_time_ns,
                        runCount: info.run_cnt))
            }
            program = bpf_object__next_program(skeleton.pointee.obj, current)
        }
        return stats
    }

    private func name(_ program: Program) -> String {
        String(cString: bpf_program__name(skeleton.pointee[keyPath: program.program]))
    }

    /// The two tracepoint programs of a build: egress, then ingress.
    static func tracepointPrograms(_ build: ProgramBuild) -> [Program] {
        switch (build.tracepoints, build.pendingTable) {
        case (.classic, .hash):
            [
                Program(program: \.progs.dnsflow_egress_tp_hash, link: \.links.dnsflow_egress_tp_hash),
                Program(program: \.progs.dnsflow_ingress_tp_hash, link: \.links.dnsflow_ingress_tp_hash),
            ]
        case (.classic, _):
            [
                Program(program: \.progs.dnsflow_egress_tp, link: \.links.dnsflow_egress_tp),
                Program(program: \.progs.dnsflow_ingress_tp, link: \.links.dnsflow_ingress_tp),
            ]
        case (_, .hash):
            [
                Program(program: \.progs.dnsflow_egress_btf_hash, link: \.links.dnsflow_egress_btf_hash),
                Program(program: \.progs.dnsflow_ingress_btf_hash, link: \.links.dnsflow_ingress_btf_hash),
            ]
        default:
            [
                Program(program: \.progs.dnsflow_egress_btf, link: \.links.dnsflow_egress_btf),
                Program(program: \.progs.dnsflow_ingress_btf, link: \.links.dnsflow_ingress_btf),
            ]
        }
    }

    /// `tp_btf/kfree_skb`, when the build has PacketDrop.
    static func dropPrograms(_ build: ProgramBuild) -> [Program] {
        build.drops ? [Program(program: \.progs.dnsflow_drop, link: \.links.dnsflow_drop)] : []
    }

    /// The two `cgroup_skb` programs of a build (DNS over TCP): egress, then ingress.
    static func cgroupPrograms(_ build: ProgramBuild) -> [Program] {
        build.pendingTable == .hash
            ? [
                Program(program: \.progs.dnsflow_tcp_egress_hash, link: \.links.dnsflow_tcp_egress_hash),
                Program(program: \.progs.dnsflow_tcp_ingress_hash, link: \.links.dnsflow_tcp_ingress_hash),
            ]
            : [
                Program(program: \.progs.dnsflow_tcp_egress, link: \.links.dnsflow_tcp_egress),
                Program(program: \.progs.dnsflow_tcp_ingress, link: \.links.dnsflow_tcp_ingress),
            ]
    }
}

public struct ProgramStats: Sendable, Hashable {
    public var name: String
    public var runTimeNs: UInt64
    public var runCount: UInt64
}
