import CBPF
import DNSFlowCore
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The loaded and attached BPF program: the only owner of libbpf handles.
///
/// Used by one task at a time (the agent's evictor), hence `@unchecked Sendable`: it moves
/// between tasks but is never shared. Links are not pinned, so they die with the process, even
/// on SIGKILL.
public final class BPFProbe: @unchecked Sendable {
    public let settings: ProbeSettings
    /// The tracepoint flavour that loaded and attached.
    public private(set) var tracepoints: ProbeSettings.Tracepoints
    /// The build of the programs that loaded: where queries wait.
    public private(set) var pendingTable: ProbeSettings.PendingTable
    /// False when no cgroup v2 mount was found: DNS over TCP is then not tracked.
    public private(set) var tracksTCP: Bool

    private let logger: Logger
    private var object: OpaquePointer?
    private var links: [OpaquePointer] = []
    private var ringBuffer: OpaquePointer?
    private var pump: RingBufferPump?
    private var pendingSlots: PendingQuerySlots?
    private let interfaceNames = InterfaceNames()
    private let sink: EventSink
    private let possibleCPUs = Int(libbpf_num_possible_cpus())

    public init(settings: ProbeSettings, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.tracepoints = settings.tracepoints
        self.pendingTable = settings.pendingTable
        self.tracksTCP = false
        self.sink = EventSink(decoder: DNSEventDecoder(interfaceNames: interfaceNames))
        LibbpfLog.install()
        let wantsTCP = settings.dnsTracking && settings.dnsOverTCP
        var cgroupRoot = wantsTCP ? (settings.cgroupRoot ?? Self.findCgroup2Root()) : nil
        if wantsTCP && cgroupRoot == nil {
            logger.warning("No cgroup v2 mount in /proc/mounts: DNS over TCP is not tracked")
        }
        // The cgroup_skb programs reach the TCP socket through a helper of Linux 5.9.
        if cgroupRoot != nil && libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_skc_to_tcp_sock, nil) != 1 {
            logger.warning("This kernel lacks bpf_skc_to_tcp_sock (Linux 5.9): DNS over TCP is not tracked")
            cgroupRoot = nil
        }
        // The fastest build first: BTF tracepoints, then the classic ones; slots (BPF
        // compare-and-swap, 5.12), then the hash map. `auto` tries the next when one does not load.
        let flavours: [ProbeSettings.Tracepoints] = settings.tracepoints == .auto ? [.btf, .classic] : [settings.tracepoints]
        let tables: [ProbeSettings.PendingTable] = settings.pendingTable == .auto ? [.slots, .hash] : [settings.pendingTable]
        var firstError: (any Error)?
        for flavour in flavours {
            for table in tables {
                do {
                    try open(flavour: flavour, table: table, cgroupRoot: cgroupRoot)
                    return
                } catch {
                    logger.info(
                        "This build of the BPF program did not load, trying the next",
                        metadata: ["dnsflow.tracepoints": "\(flavour)", "dnsflow.pending_table": "\(table)",
                                   "dnsflow.error": "\(error)"])
                    close()
                    firstError = firstError ?? error
                }
            }
        }
        throw firstError ?? ProbeError("No build of the BPF program to load")
    }

    deinit {
        close()
    }

    /// True while the programs are attached.
    public var isAttached: Bool { !links.isEmpty }

    /// Detaches every program and frees the maps. Idempotent.
    public func close() {
        pump?.stop()
        pump = nil
        pendingSlots = nil
        if let ringBuffer { ring_buffer__free(ringBuffer) }
        ringBuffer = nil
        for link in links { bpf_link__destroy(link) }
        links = []
        if let object { bpf_object__close(object) }
        object = nil
    }

    private func open(flavour: ProbeSettings.Tracepoints, table: ProbeSettings.PendingTable, cgroupRoot: String?) throws {
        tracepoints = flavour
        pendingTable = table
        let build = ProgramBuild(flavour: flavour, table: table)
        let bytes = [UInt8](Data(base64Encoded: bpfObject_dnsflow)!)
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        // libbpf reads the ELF image until load: keep `bytes` alive across it.
        try bytes.withUnsafeBytes { image in
            guard let object = bpf_object__open_mem(image.baseAddress, image.count, &opts) else {
                throw ProbeError("Opening the embedded BPF object", errno: errno)
            }
            self.object = object
            try configure(object, programs: build.tracepointPrograms + (cgroupRoot != nil ? build.cgroupPrograms : []))
            let err = bpf_object__load(object)
            guard err == 0 else {
                throw ProbeError(
                    "Loading the BPF program (\(flavour) tracepoints, \(table) pending table)\(LibbpfLog.lastLines())",
                    errno: err)
            }
        }
        guard let object else { return }
        pendingSlots = try PendingQuerySlots(
            slotsFD: bpf_map__fd(map(object, "dns_pending")), detailFD: bpf_map__fd(map(object, "dns_pending_detail")),
            count: Int(settings.pendingSlots))

        if flavour == .classic { try TraceFS.mount() }
        for name in build.tracepointPrograms {
            let program = bpf_object__find_program_by_name(object, name)
            guard let link = bpf_program__attach(program) else {
                throw ProbeError("Attaching \(name)\(LibbpfLog.lastLines())", errno: errno)
            }
            links.append(link)
        }
        tracksTCP = false
        if let cgroupRoot {
            let fd = Glibc.open(cgroupRoot, O_RDONLY | O_DIRECTORY)
            guard fd >= 0 else { throw ProbeError("Opening cgroup v2 root \(cgroupRoot)", errno: errno) }
            defer { Glibc.close(fd) }
            for name in build.cgroupPrograms {
                let program = bpf_object__find_program_by_name(object, name)
                guard let link = bpf_program__attach_cgroup(program, fd) else {
                    throw ProbeError("Attaching \(name) to \(cgroupRoot)\(LibbpfLog.lastLines())", errno: errno)
                }
                links.append(link)
            }
            tracksTCP = true
        }
        let ringFD = bpf_map__fd(map(object, "dns_events"))
        ringBuffer = ring_buffer__new(ringFD, { context, data, size in
            guard let context, let data else { return 0 }
            Unmanaged<EventSink>.fromOpaque(context).takeUnretainedValue().append(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }, Unmanaged.passUnretained(sink).toOpaque(), nil)
        guard let ringBuffer else { throw ProbeError("Opening the DNS event ring buffer", errno: errno) }
        pump = RingBufferPump(ringBuffer: ringBuffer, sink: sink)
        logger.info(
            "BPF program attached",
            metadata: [
                "dnsflow.tracepoints": "\(flavour)", "dnsflow.pending_table": "\(table)", "dnsflow.dns_over_tcp": "\(tracksTCP)",
                "dnsflow.programs": "\(links.count)",
            ])
    }

    /// The names of one build's programs in bpf/dnsflow.bpf.c: `*_hash` for the hash-map table.
    private struct ProgramBuild {
        let tracepointPrograms: [String]
        let cgroupPrograms: [String]

        init(flavour: ProbeSettings.Tracepoints, table: ProbeSettings.PendingTable) {
            let kind = flavour == .classic ? "tp" : "btf"
            let suffix = table == .hash ? "_hash" : ""
            tracepointPrograms = ["dnsflow_egress_\(kind)\(suffix)", "dnsflow_ingress_\(kind)\(suffix)"]
            cgroupPrograms = ["dnsflow_tcp_egress\(suffix)", "dnsflow_tcp_ingress\(suffix)"]
        }
    }

    /// Loads only `programs`; sizes the maps and writes the settings.
    private func configure(_ object: OpaquePointer, programs: [String]) throws {
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            bpf_program__set_autoload(current, programs.contains(String(cString: bpf_program__name(current))))
            program = bpf_object__next_program(object, current)
        }
        for (name, entries) in [
            ("flows", settings.maxFlows), ("dns_pending", settings.pendingSlots),
            ("dns_pending_detail", settings.pendingSlots), ("dns_queries", settings.maxPendingQueries),
            ("dns_events", settings.ringBufferBytes),
        ] {
            let err = bpf_map__set_max_entries(map(object, name), entries)
            guard err == 0 else { throw ProbeError("Sizing map \(name) to \(entries)", errno: err) }
        }

        var values = dnsflow_settings()
        values.sampling = max(settings.sampling, 1)
        values.pending_slots_mask = settings.pendingSlots - 1
        values.dns_tracking = settings.dnsTracking ? 1 : 0
        let ports = settings.dnsPorts.prefix(Int(DNSFLOW_MAX_DNS_PORTS))
        values.dns_port_count = UInt8(ports.count)
        withUnsafeMutableBytes(of: &values.dns_ports) { raw in
            for (i, port) in ports.enumerated() { raw.storeBytes(of: port, toByteOffset: i * 2, as: UInt16.self) }
        }
        var rodata: OpaquePointer?
        var next = bpf_object__next_map(object, nil)
        while let candidate = next {
            if String(cString: bpf_map__name(candidate)).hasSuffix(".rodata") { rodata = candidate }
            next = bpf_object__next_map(object, candidate)
        }
        var size = 0
        guard let rodata, let base = bpf_map__initial_value(rodata, &size) else {
            throw ProbeError("The BPF object has no .rodata section for its settings")
        }
        let offset = dnsflow_global_offset(object, rodata, "settings")
        guard offset >= 0, Int(offset) + MemoryLayout<dnsflow_settings>.size <= size else {
            throw ProbeError("The BPF object has no `settings` global")
        }
        // libbpf hands out a read-only view: patch a copy and set it back.
        var image = [UInt8](UnsafeRawBufferPointer(start: base, count: size))
        withUnsafeBytes(of: &values) { image.replaceSubrange(Int(offset)..<Int(offset) + $0.count, with: $0) }
        let err = bpf_map__set_initial_value(rodata, image, size)
        guard err == 0 else { throw ProbeError("Writing the BPF settings", errno: err) }
    }

    private func map(_ object: OpaquePointer, _ name: String) -> OpaquePointer? {
        bpf_object__find_map_by_name(object, name)
    }

    private func fd(_ name: String) -> Int32 {
        guard let object else { return -1 }
        return bpf_map__fd(map(object, name))
    }

    // MARK: Reading

    /// DNS events dropped in user space because the evictor fell behind the pump.
    public var droppedEvents: Int { sink.dropped }

    /// Waits until the pump has drained what the ring holds now; at shutdown, so that the last
    /// responses make it into the final records.
    public func drainEvents() {
        pump?.drainOnce()
    }

    /// The DNS views drained since the last call. A thread of its own drains the ring buffer and
    /// decodes each event as it comes, so a busy evictor never lets the kernel side fill it.
    public func takeViews() -> [DNSView] {
        sink.take()
    }

    /// How many views `takeViews()` would return now.
    public var viewCount: Int { sink.count }

    /// Removes every flow from the kernel map, in batches, and returns them.
    public func evictFlows() throws -> [FlowSample] {
        let batchSize = 4096
        var keys = [flow_key](repeating: flow_key(), count: batchSize)
        var values = [flow_stats](repeating: flow_stats(), count: batchSize)
        var inBatch: UInt32 = 0
        var outBatch: UInt32 = 0
        var first = true
        var samples: [FlowSample] = []
        let clock = ClockOffset()
        let mapFD = fd("flows")
        var opts = bpf_map_batch_opts()
        opts.sz = MemoryLayout<bpf_map_batch_opts>.size
        while true {
            var count = UInt32(batchSize)
            let err = first
                ? bpf_map_lookup_and_delete_batch(mapFD, nil, &outBatch, &keys, &values, &count, &opts)
                : bpf_map_lookup_and_delete_batch(mapFD, &inBatch, &outBatch, &keys, &values, &count, &opts)
            for i in 0..<Int(count) { samples.append(sample(keys[i], values[i], clock)) }
            if err == -ENOENT { break }
            guard err == 0 else { throw ProbeError("Evicting flows", errno: err) }
            inBatch = outBatch
            first = false
        }
        return samples
    }

    /// Removes the queries that waited longer than `timeout` and returns them as timeouts.
    public func expireQueries(timeout: Duration) -> [DNSView] {
        let clock = ClockOffset()
        let timeoutNs = UInt64(timeout.components.seconds) * 1_000_000_000
            + UInt64(timeout.components.attoseconds / 1_000_000_000)
        // A query made during the walk is newer than `clock`: it must not wrap around to "old".
        guard clock.monotonicNowNs > timeoutNs else { return [] }
        let deadline = clock.monotonicNowNs - timeoutNs
        var expired = pendingSlots?.takeQueries(madeBefore: deadline) ?? []
        let mapFD = fd("dns_queries")
        let overflowed = hashMapQueryKeys().compactMap { key -> WaitingQuery? in
            var key = key
            var value = dns_query()
            guard bpf_map_lookup_elem(mapFD, &key, &value) == 0, value.query_ns < deadline else { return nil }
            return WaitingQuery(key: key, queryNs: value.query_ns, detail: value.detail)
        }
        // Gone already: its response came after the walk, and the kernel side reported it.
        expired += overflowed.filter { query in
            var key = query.key
            return bpf_map_delete_elem(mapFD, &key) == 0
        }
        return expired.map { query in
            let key = query.key
            let detail = query.detail
            return DNSView(
                outcome: .timedOut,
                key: FlowKey(
                    srcAddr: IPAddress(tuple: key.client_addr, ethType: key.eth_type),
                    dstAddr: IPAddress(tuple: key.server_addr, ethType: key.eth_type),
                    srcPort: key.client_port, dstPort: key.server_port, proto: key.proto, etype: key.eth_type),
                observation: Observation(
                    netNs: key.netns,
                    interface: interfaceNames.name(netNs: key.netns, ifindex: detail.ifindex, kernelName: detail.ifname),
                    direction: detail.direction),
                id: key.id, flags: detail.flags,
                question: DNSQuestion(kernelBytes: detail.question, length: detail.question_len),
                startNs: clock.epochNs(query.queryNs),
                endNs: clock.epochNs(query.queryNs &+ timeoutNs))
        }
    }

    /// The kernel side's counters, summed over CPUs.
    public func counters() -> [KernelCounter: UInt64] {
        let mapFD = fd("counters")
        var totals: [KernelCounter: UInt64] = [:]
        var perCPU = [UInt64](repeating: 0, count: possibleCPUs)
        for counter in KernelCounter.allCases {
            var index = counter.rawValue
            if bpf_map_lookup_elem(mapFD, &index, &perCPU) == 0 {
                totals[counter] = perCPU.reduce(0, &+)
            }
        }
        return totals
    }

    /// Run time and run count of each attached program; non-zero only while
    /// `kernel.bpf_stats_enabled` is 1 (the kernel does not time programs otherwise).
    public func programStats() -> [ProgramStats] {
        guard let object else { return [] }
        var stats: [ProgramStats] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let fd = bpf_program__fd(current)
            var info = bpf_prog_info()
            var length = UInt32(MemoryLayout<bpf_prog_info>.size)
            if fd >= 0, bpf_obj_get_info_by_fd(fd, &info, &length) == 0 {
                stats.append(ProgramStats(
                    name: String(cString: bpf_program__name(current)), runTimeNs: info.run_time_ns, runCount: info.run_cnt))
            }
            program = bpf_object__next_program(object, current)
        }
        return stats
    }

    /// Queries waiting for their response now; for the fill gauge.
    public func pendingQueryCount() -> Int {
        (pendingSlots?.waiting ?? 0) + hashMapQueryKeys().count
    }

    /// The keys of the queries waiting in `dns_queries` (those whose slot was held, or every one
    /// in the hash build). Walked key by key: a batch lookup would copy every ~300-byte value.
    private func hashMapQueryKeys() -> [dns_key] {
        let mapFD = fd("dns_queries")
        var keys: [dns_key] = []
        var key = dns_key()
        var next = dns_key()
        var status = bpf_map_get_next_key(mapFD, nil, &next)
        while status == 0 {
            keys.append(next)
            key = next
            status = bpf_map_get_next_key(mapFD, &key, &next)
        }
        return keys
    }

    // MARK: Decoding

    private func sample(_ key: flow_key, _ stats: flow_stats, _ clock: ClockOffset) -> FlowSample {
        let count = min(Int(stats.n_observations), Int(DNSFLOW_MAX_OBSERVATIONS))
        let observations = withUnsafeBytes(of: stats.observations) { raw in
            raw.bindMemory(to: flow_observation.self).prefix(count).map { o in
                let name = String(kernelName: o.ifname)
                interfaceNames.learn(netNs: o.netns, ifindex: o.ifindex, name: name)
                return Observation(netNs: o.netns, interface: name, direction: o.direction)
            }
        }
        return FlowSample(
            key: FlowKey(
                srcAddr: IPAddress(tuple: key.src_addr, ethType: key.eth_type),
                dstAddr: IPAddress(tuple: key.dst_addr, ethType: key.eth_type),
                srcPort: key.src_port, dstPort: key.dst_port, proto: key.proto, etype: key.eth_type),
            bytes: stats.bytes, packets: stats.packets,
            startNs: clock.epochNs(stats.first_seen_ns), endNs: clock.epochNs(stats.last_seen_ns),
            tcpFlags: stats.tcp_flags, observations: observations)
    }

    static func findCgroup2Root() -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return nil }
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 2 && fields[2] == "cgroup2" { return String(fields[1]) }
        }
        return nil
    }
}

public struct ProgramStats: Sendable, Hashable {
    public var name: String
    public var runTimeNs: UInt64
    public var runCount: UInt64
}

/// Ring buffer events land here from libbpf's callback, on the pump's thread, and are decoded at
/// once: a view is a fraction of the raw event's 380 bytes. Bounded: past `capacity` views the
/// newest are dropped and counted (the evictor is far behind: it takes them once 4,096 wait).
private final class EventSink: @unchecked Sendable {
    private static let capacity = 1 << 16
    private let state = Mutex<(views: [DNSView], dropped: Int)>(([], 0))
    private let decoder: DNSEventDecoder
    /// Touched only under the pump's consumer lock: one clock reading and one lock of `state` per
    /// consume, not per event.
    private var clock = ClockOffset()
    private var staged: [DNSView] = []

    init(decoder: DNSEventDecoder) {
        self.decoder = decoder
    }

    /// Before a consume.
    func startBatch() {
        clock = ClockOffset()
    }

    /// For each event of a consume.
    func append(_ bytes: UnsafeRawBufferPointer) {
        staged.append(decoder.view(of: bytes, clock: clock))
    }

    /// After a consume: hands the batch to `take()`, dropping what does not fit.
    func publish() {
        guard !staged.isEmpty else { return }
        state.withLock { state in
            let room = max(Self.capacity - state.views.count, 0)
            state.views.append(contentsOf: staged.prefix(room))
            state.dropped += max(staged.count - room, 0)
        }
        staged.removeAll(keepingCapacity: true)
    }

    func take() -> [DNSView] {
        state.withLock { state in
            // Moved out, not shared: emptying a shared array would allocate its capacity anew.
            var taken: [DNSView] = []
            swap(&taken, &state.views)
            return taken
        }
    }

    var dropped: Int { state.withLock { $0.dropped } }

    var count: Int { state.withLock { $0.views.count } }
}

/// Turns one ring buffer record (`struct dns_event` of bpf/dnsflow.h, cut after its question) into
/// the view it reports. Public for the micro-benchmarks (bench/).
public struct DNSEventDecoder: Sendable {
    let interfaceNames: InterfaceNames

    init(interfaceNames: InterfaceNames) {
        self.interfaceNames = interfaceNames
    }

    /// A decoder with no interface names learnt yet (events that carry no name get "if<index>").
    public init() {
        self.init(interfaceNames: InterfaceNames())
    }

    public func view(of bytes: UnsafeRawBufferPointer) -> DNSView {
        view(of: bytes, clock: ClockOffset())
    }

    func view(of bytes: UnsafeRawBufferPointer, clock: ClockOffset) -> DNSView {
        // Events carry only the question's bytes: copy them into a zeroed full-size struct.
        var event = dns_event()
        withUnsafeMutableBytes(of: &event) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix($0.count))) }
        let key = event.key
        let server = IPAddress(tuple: key.server_addr, ethType: key.eth_type)
        let client = IPAddress(tuple: key.client_addr, ethType: key.eth_type)
        return DNSView(
            outcome: event.query_ns == 0 ? .orphan : .answered(latencyNs: event.response_ns &- event.query_ns),
            key: FlowKey(
                srcAddr: server, dstAddr: client, srcPort: key.server_port, dstPort: key.client_port,
                proto: key.proto, etype: key.eth_type),
            observation: Observation(
                netNs: key.netns,
                interface: interfaceNames.name(netNs: key.netns, ifindex: event.ifindex, kernelName: event.ifname),
                direction: event.direction),
            id: key.id, flags: event.flags,
            question: DNSQuestion(kernelBytes: event.question, length: event.question_len),
            startNs: clock.epochNs(event.query_ns == 0 ? event.response_ns : event.query_ns),
            endNs: clock.epochNs(event.response_ns))
    }
}

/// Interface names by (namespace, ifindex). cgroup_skb programs see an ifindex but no device
/// name; the flows seen at the tracepoints name it. Written by the evictor, read by the pump.
final class InterfaceNames: Sendable {
    private let names = Mutex<[InterfaceID: String]>([:])

    func learn(netNs: UInt32, ifindex: UInt32, name: String) {
        let id = InterfaceID(netNs: netNs, ifindex: ifindex)
        names.withLock { names in
            if names[id] != name { names[id] = name }
        }
    }

    func name<T>(netNs: UInt32, ifindex: UInt32, kernelName: T) -> String {
        let direct = String(kernelName: kernelName)
        if !direct.isEmpty { return direct }
        return names.withLock { $0[InterfaceID(netNs: netNs, ifindex: ifindex)] } ?? "if\(ifindex)"
    }
}

/// Polls the ring buffer on a dedicated thread: `ring_buffer__poll` blocks in epoll, which must
/// not happen on Swift's cooperative pool, and a dedicated reader keeps the ring empty however
/// long an eviction takes.
private final class RingBufferPump: @unchecked Sendable {
    private let ringBuffer: OpaquePointer
    private let sink: EventSink
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    /// libbpf's ring_buffer is not safe for two consumers at once.
    private let consumer = NSLock()

    init(ringBuffer: OpaquePointer, sink: EventSink) {
        self.ringBuffer = ringBuffer
        self.sink = sink
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                pollOnce()
            }
            finished.signal()
        }
        thread.name = "dnsflow-ringbuf"
        thread.start()
    }

    /// The kernel side never wakes this thread (a wakeup costs the packet path an interrupt): it
    /// reads what came every 10 ms. At 100k events a second that is about 128 KiB of a 2 MiB ring
    /// (by default). The period also bounds how long stop() waits.
    private func pollOnce() {
        drainOnce()
        usleep(10_000)
    }

    func drainOnce() {
        consumer.withLock {
            sink.startBatch()
            _ = ring_buffer__consume(ringBuffer)
            sink.publish()
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }
}

struct InterfaceID: Hashable {
    var netNs: UInt32
    var ifindex: UInt32
}

extension IPAddress {
    init<T>(tuple: T, ethType: UInt16) {
        self = withUnsafeBytes(of: tuple) { IPAddress(kernelBytes: $0, ipv4: ethType == 0x0800) }
    }
}

extension String {
    /// A NUL-padded C char array from a kernel struct.
    init<T>(kernelName tuple: T) {
        self = withUnsafeBytes(of: tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

extension DNSQuestion {
    /// Nil when the question could not be decoded (counted as a bad question by the evictor).
    init?<T>(kernelBytes tuple: T, length: UInt16) {
        guard let question = withUnsafeBytes(of: tuple, { raw in try? DNSQuestion.decode(raw.prefix(Int(length))) })
        else { return nil }
        self = question
    }
}

/// Converts the kernel's CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) to epoch nanoseconds.
struct ClockOffset {
    let monotonicNowNs: UInt64
    let offsetNs: Int64

    init() {
        var mono = timespec()
        var real = timespec()
        clock_gettime(CLOCK_MONOTONIC, &mono)
        clock_gettime(CLOCK_REALTIME, &real)
        let monotonic: Int64 = Int64(mono.tv_sec) * 1_000_000_000 + Int64(mono.tv_nsec)
        let wall: Int64 = Int64(real.tv_sec) * 1_000_000_000 + Int64(real.tv_nsec)
        monotonicNowNs = UInt64(monotonic)
        offsetNs = wall - monotonic
    }

    func epochNs(_ monotonic: UInt64) -> Int64 { Int64(monotonic) + offsetNs }
}
