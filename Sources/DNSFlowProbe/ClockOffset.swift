#if canImport(Glibc)
    import Glibc
#endif

/// Converts the kernel's CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) to epoch nanoseconds.
struct ClockOffset {
    let monotonicNowNs: UInt64
    let offsetNs: Int64

    /// The realtime reading bracketed by two monotonic ones, best of a few: a thread preempted
    /// between the readings would shift every timestamp of its batch by the preemption (on a busy
    /// node, milliseconds), and the views of one lookup, decoded in different batches, would no
    /// longer overlap in time and join.
    init() {
        self.init(sample: Self.sample)
    }

    /// `sample` reads monotonic, realtime, monotonic again, in that order.
    init(sample: () -> (before: Int64, wall: Int64, after: Int64)) {
        var best: (gap: Int64, monotonic: Int64, offset: Int64) = (.max, 0, 0)
        for _ in 0..<Self.tries {
            let reading = sample()
            let gap = reading.after - reading.before
            let monotonic = reading.before + gap / 2
            if gap < best.gap { best = (gap, monotonic, reading.wall - monotonic) }
            if best.gap <= Self.goodGapNs { break }
        }
        self.init(monotonicNowNs: UInt64(best.monotonic), offsetNs: best.offset)
    }

    /// Readings this close bound the offset's error well below a microsecond.
    private static let goodGapNs: Int64 = 1_000
    private static let tries = 5

    private static func sample() -> (before: Int64, wall: Int64, after: Int64) {
        (read(CLOCK_MONOTONIC), read(CLOCK_REALTIME), read(CLOCK_MONOTONIC))
    }

    private static func read(_ clock: clockid_t) -> Int64 {
        var now = timespec()
        clock_gettime(clock, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    init(monotonicNowNs: UInt64, offsetNs: Int64) {
        self.monotonicNowNs = monotonicNowNs
        self.offsetNs = offsetNs
    }

    func epochNs(_ monotonic: UInt64) -> Int64 { Int64(monotonic) + offsetNs }
}
