import CBPF
import DNSFlowCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The BPF program as a service: loaded at init (so that a bad kernel or missing capability fails
/// before anything starts), attached when run, and detached on graceful shutdown. While running
/// it drains the DNS event ring buffer; the evictor takes the views, the flows and the timeouts.
public final class BPFProbe: Service, Sendable {
    /// How often the ring buffer is drained: the kernel side never wakes the reader. The period
    /// also bounds how long a shutdown waits for the loop.
    private static let drainIntervalMicroseconds: UInt32 = 10_000

    public let settings: ProbeSettings
    /// The tracepoint flavour loaded: `btf` or `classic`.
    public let tracepoints: ProbeSettings.Tracepoints
    /// The build of the programs loaded: where queries wait.
    public let pendingTable: ProbeSettings.PendingTable
    /// False when DNS over TCP is not tracked (no cgroup v2 mount, or too old a kernel).
    public let tracksTCP: Bool
    /// True when DNS packet drops are followed (PacketDrop on a kernel with `tp_btf/kfree_skb`'s reason).
    public let tracksDrops: Bool

    private let logger: Logger
    private let interfaceNames = InterfaceNames()
    private let views = DecodedViews()
    private let drops = DecodedDrops()
    private let attached = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    /// The skeleton and its readers; nil once closed.
    private let program: Mutex<LoadedProgram?>
    /// Apart from `program`, so that draining the ring never waits for an eviction.
    private let reader: Mutex<RingBufferReader?>

    private struct LoadedProgram {
        let skeleton: BPFSkeleton
        let flows: FlowMapReader
        let queries: QueryExpiry
        let counters: KernelCounterReader
    }

    public init(settings: ProbeSettings, logger: Logger) throws(ProbeError) {
        LibbpfLog.install()
        let wantsTCP = settings.dnsTracking && settings.dnsOverTCP
        let features = KernelFeatures.probe()
        let build = ProgramBuild(
            settings: settings, features: features,
            cgroupRoot: wantsTCP ? (settings.cgroupRoot ?? Self.findCgroup2Root()) : nil)
        for fallback in build.fallbacks {
            logger.warning(
                "A fallback build of the BPF programs is loaded",
                metadata: ["dnsflow.fallback": "\(fallback.rawValue)", "dnsflow.reason": "\(fallback.reason)"])
        }
        let skeleton = try BPFSkeleton(settings: settings, build: build)
        let maps = skeleton.maps
        let slots = try PendingQuerySlots(
            slotsFD: bpf_map__fd(maps.dns_pending), detailFD: bpf_map__fd(maps.dns_pending_detail),
            count: Int(settings.pendingSlots))
        let reader = try RingBufferReader(
            mapFD: bpf_map__fd(maps.dns_events),
            decoder: DNSEventDecoder(interfaceNames: interfaceNames, answers: settings.answers),
            dropsFD: bpf_map__fd(maps.dns_drops),
            drops: build.drops
                ? RingBufferReader.DropBatch(decoder: DropEventDecoder(reasons: DropReasonNames()), drops: drops) : nil)
        self.program = Mutex(
            LoadedProgram(
                skeleton: skeleton,
                flows: FlowMapReader(mapFD: bpf_map__fd(maps.flows), interfaceNames: interfaceNames),
                queries: QueryExpiry(
                    slots: slots, queriesFD: bpf_map__fd(maps.dns_queries), interfaceNames: interfaceNames),
                counters: KernelCounterReader(mapFD: bpf_map__fd(maps.counters))))
        self.reader = Mutex(reader)
        self.settings = settings
        self.tracepoints = build.tracepoints
        self.pendingTable = build.pendingTable
        self.tracksTCP = build.cgroupRoot != nil
        self.tracksDrops = build.drops
        self.logger = logger
    }

    /// Attaches, drains the ring buffer until graceful shutdown, then detaches and frees the maps.
    public func run() async throws {
        defer { close() }
        let programs = try program.withLock { program throws(ProbeError) in try program?.skeleton.attach() ?? 0 }
        attached.store(true, ordering: .relaxed)
        logger.info(
            "BPF program attached",
            metadata: [
                "dnsflow.tracepoints": "\(tracepoints)", "dnsflow.pending_table": "\(pendingTable)",
                "dnsflow.dns_over_tcp": "\(tracksTCP)", "dnsflow.packet_drops": "\(tracksDrops)",
                "dnsflow.programs": "\(programs)",
            ])
        // On a thread of its own, started and joined here: sleeping on Swift concurrency's timers
        // woke two threads a period (the timer's, then a worker's) and cost the agent more CPU.
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (stopped: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [self] in
                        while !stopRequested.load(ordering: .relaxed) {
                            drainEvents()
                            usleep(Self.drainIntervalMicroseconds)
                        }
                        stopped.resume()
                    }
                    thread.name = "dnsflow-ring"
                    thread.start()
                }
            } onCancel: {
                stopRequested.store(true, ordering: .relaxed)
            }
        } onGracefulShutdown: {
            self.stopRequested.store(true, ordering: .relaxed)
        }
    }

    /// True while the programs are attached.
    public var isAttached: Bool { attached.load(ordering: .relaxed) }

    /// Detaches every program and frees the maps. Idempotent.
    public func close() {
        attached.store(false, ordering: .relaxed)
        reader.withLock { $0 = nil }
        program.withLock { $0 = nil }
    }

    // MARK: What the evictor reads

    /// DNS events dropped in user space because the evictor fell behind the reader.
    public var droppedEvents: Int { views.dropped }

    /// Responses whose answer section did not decode (their views have no answers); cumulative.
    public var badAnswerSections: Int { views.badAnswerSections }

    /// Drains what the ring holds now; at shutdown, so that the last responses make it into the
    /// final records.
    public func drainEvents() {
        reader.withLock { $0?.drain(into: views) }
    }

    /// The DNS views drained since the last call.
    public func takeViews() -> [DNSView] {
        views.take()
    }

    /// How many views `takeViews()` would return now.
    public var viewCount: Int { views.count }

    /// The DNS packet drops decoded since the last call (PacketDrop).
    public func takeDrops() -> [DNSDrop] {
        drops.take()
    }

    /// Drops lost in user space because the evictor fell behind the reader.
    public var lostDrops: Int { drops.lost }

    /// Removes every flow from the kernel map, in batches, and returns them.
    public func evictFlows() throws(ProbeError) -> [FlowSample] {
        try program.withLock { program throws(ProbeError) in try program?.flows.evict() ?? [] }
    }

    /// Removes the queries that waited longer than `timeout` and returns them as timeouts.
    public func expireQueries(timeout: Duration) -> [DNSView] {
        program.withLock { $0?.queries.expire(timeout: timeout) ?? [] }
    }

    /// Queries waiting for their response now; for the fill gauge.
    public func pendingQueryCount() -> Int {
        program.withLock { $0?.queries.waiting ?? 0 }
    }

    /// The kernel side's counters, summed over CPUs.
    public func counters() -> [KernelCounter: UInt64] {
        program.withLock { $0?.counters.read() ?? [:] }
    }

    /// Run time and run count of each loaded program; non-zero only while
    /// `kernel.bpf_stats_enabled` is 1 (the kernel does not time programs otherwise).
    public func programStats() -> [ProgramStats] {
        program.withLock { $0?.skeleton.programStats() ?? [] }
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
