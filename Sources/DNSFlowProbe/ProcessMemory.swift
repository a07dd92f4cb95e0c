import CBPF

/// glibc malloc settings for a process that allocates each window's records in a burst on
/// whichever threads run the evictor and the exporters, and frees them a moment later: without
/// them, freed memory stays stranded in per-thread arenas and the agent's RSS (a figure users
/// budget for, per node) only grows.
public enum ProcessMemory {
    /// Two malloc arenas instead of up to eight per core.
    public static func limitArenas() {
        mallopt(M_ARENA_MAX, 2)
    }

    /// Returns freed heap memory to the kernel; once per window.
    public static func trim() {
        malloc_trim(0)
    }
}
