import CBPF

/// glibc malloc settings for a process that allocates each window's records in a burst on
/// whichever threads run the evictor and the exporters, and frees them a moment later: without
/// them, freed memory stays stranded in per-thread arenas and the agent's RSS (a figure users
/// budget for, per node) only grows.
public enum ProcessMemory {
    /// Two malloc arenas instead of up to eight per core, and the multi-megabyte JSON bodies of
    /// the HTTP exporter served from the heap: above the (adaptive) mmap threshold each would be
    /// fresh pages the kernel zeroes, which took a fifth of the agent's CPU at 20k queries/s. For
    /// the same reason free memory is not handed back as soon as 128 KiB of it sits at the top of
    /// an arena (glibc's default once the thresholds are set), but by `trim()`, once per window.
    public static func limitArenas() {
        mallopt(M_ARENA_MAX, 2)
        mallopt(M_MMAP_THRESHOLD, 32 << 20)
        mallopt(M_TRIM_THRESHOLD, 64 << 20)
    }

    /// Returns freed heap memory to the kernel; once per window.
    public static func trim() {
        malloc_trim(0)
    }
}
