#if canImport(Glibc)
    import Glibc
#endif

/// Epoch time, the clock of the views' timestamps.
enum WallClock {
    static func nowNs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
