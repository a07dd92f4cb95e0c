#if canImport(Glibc)
    import Glibc
#endif

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
        self.init(monotonicNowNs: UInt64(monotonic), offsetNs: wall - monotonic)
    }

    init(monotonicNowNs: UInt64, offsetNs: Int64) {
        self.monotonicNowNs = monotonicNowNs
        self.offsetNs = offsetNs
    }

    func epochNs(_ monotonic: UInt64) -> Int64 { Int64(monotonic) + offsetNs }
}
