import CBPF
import DNSFlowCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Drains `dns_events`, decoding each event as it comes: a view is a fraction of the raw event.
/// The kernel side never wakes the reader (a wakeup costs the packet path an interrupt), so the
/// probe's run loop calls `drain` on a period. libbpf's ring buffer takes one consumer at a time:
/// the probe holds this under a lock.
final class RingBufferReader {
    /// What libbpf's callback appends to during one consume.
    private final class Batch {
        let decoder: DNSEventDecoder
        /// One clock reading per consume, not per event.
        var clock = ClockOffset()
        var views: [DNSView] = []
        var badAnswerSections = 0

        init(decoder: DNSEventDecoder) {
            self.decoder = decoder
        }
    }

    /// What the `dns_drops` ring's callback decodes into (PacketDrop).
    final class DropBatch {
        let decoder: DropEventDecoder
        let drops: DecodedDrops
        var clock = ClockOffset()

        init(decoder: DropEventDecoder, drops: DecodedDrops) {
            self.decoder = decoder
            self.drops = drops
        }
    }

    private let ringBuffer: OpaquePointer
    private let batch: Batch
    private let dropBatch: DropBatch?

    /// `mapFD` is `dns_events`; `drops`, with `dropsFD` (`dns_drops`), is consumed with it. The rings' memory
    /// mappings keep the maps alive, so the reader outlives the skeleton that created it.
    init(mapFD: Int32, decoder: DNSEventDecoder, dropsFD: Int32 = -1, drops: DropBatch? = nil) throws(ProbeError) {
        let batch = Batch(decoder: decoder)
        let ringBuffer = ring_buffer__new(
            mapFD,
            { context, data, size in
                guard let context, let data else { return 0 }
                let batch = Unmanaged<Batch>.fromOpaque(context).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: data, count: size)
                let decoded = batch.decoder.decode(bytes, clock: batch.clock)
                batch.views.append(decoded.view)
                if decoded.badAnswerSection { batch.badAnswerSections += 1 }
                return 0
            }, Unmanaged.passUnretained(batch).toOpaque(), nil)
        guard let ringBuffer else { throw .openingRingBuffer(errno: errno) }
        self.ringBuffer = ringBuffer
        self.batch = batch
        self.dropBatch = drops
        guard let drops else { return }
        let added = ring_buffer__add(
            ringBuffer, dropsFD,
            { context, data, size in
                guard let context, let data else { return 0 }
                let batch = Unmanaged<DropBatch>.fromOpaque(context).takeUnretainedValue()
                if let drop = batch.decoder.drop(
                    of: UnsafeRawBufferPointer(start: data, count: size), clock: batch.clock)
                {
                    batch.drops.append(drop)
                }
                return 0
            }, Unmanaged.passUnretained(drops).toOpaque())
        guard added == 0 else {
            ring_buffer__free(ringBuffer)
            throw .openingRingBuffer(errno: -added)
        }
    }

    deinit {
        ring_buffer__free(ringBuffer)
    }

    /// Consumes what the ring holds now and hands the views to `views`.
    func drain(into views: DecodedViews) {
        batch.clock = ClockOffset()
        dropBatch?.clock = batch.clock
        _ = ring_buffer__consume(ringBuffer)
        views.publish(&batch.views, badAnswerSections: batch.badAnswerSections)
        batch.badAnswerSections = 0
    }
}

/// The views decoded and not taken yet. Bounded: past `capacity` the newest are dropped and
/// counted (the evictor is then far behind: it takes them once `FlowEvictor.maxViewsPerWindow` wait).
final class DecodedViews: Sendable {
    private let capacity: Int
    private let state = Mutex<(views: [DNSView], dropped: Int, badAnswerSections: Int)>(([], 0, 0))

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
    }

    /// Moves `batch` in, dropping what does not fit; leaves `batch` empty with its capacity kept.
    func publish(_ batch: inout [DNSView], badAnswerSections: Int = 0) {
        guard !batch.isEmpty else { return }
        state.withLock { state in
            state.badAnswerSections += badAnswerSections
            let room = max(capacity - state.views.count, 0)
            state.views.append(contentsOf: batch.prefix(room))
            state.dropped += max(batch.count - room, 0)
        }
        batch.removeAll(keepingCapacity: true)
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

    var badAnswerSections: Int { state.withLock { $0.badAnswerSections } }

    var count: Int { state.withLock { $0.views.count } }
}
