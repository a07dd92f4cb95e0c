import CMalloc
import Foundation

/// Keeps the agent's RSS, a figure users budget for per node, to what it uses.
///
/// glibc malloc is set for a process that allocates each window's records in a burst on whichever
/// threads run the evictor and the exporters, and frees them a moment later: without that, freed
/// memory stays stranded in per-thread arenas and RSS only grows.
public enum ProcessMemory {
    /// Two malloc arenas instead of up to eight per core, and large buffers (a window's records)
    /// served from the heap: above the (adaptive) mmap threshold each would be fresh pages the
    /// kernel zeroes, a cost of CPU on every window (bench/README.md). Free memory at the
    /// top of an arena goes back past 8 MiB, not glibc's 128 KiB, for the same reason; `trim()`
    /// hands back the rest four times a second.
    public static func limitArenas() {
        mallopt(M_ARENA_MAX, 2)
        mallopt(M_MMAP_THRESHOLD, 32 << 20)
        mallopt(M_TRIM_THRESHOLD, 8 << 20)
    }

    /// Returns freed heap memory to the kernel: the evictor calls it four times a second.
    public static func trim() {
        malloc_trim(0)
    }

    /// Hands back the executable's pages that only start-up read: its relocations and symbol
    /// tables, the set-up code of the runtime, libbpf and the services (much of the RSS at start,
    /// bench/README.md). They are clean file pages, which the kernel would reclaim first under memory
    /// pressure anyway; what the agent still runs faults back in at once. Once attached, and
    /// again once every service has started.
    public static func releaseStartupPages() {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8),
            let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        else { return }
        for line in maps.split(separator: "\n") where line.hasSuffix(" " + executable) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // Only read-only mappings: a written page of the data segment is the process's own.
            guard fields.count >= 6, !fields[1].contains("w") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard bounds.count == 2, let start = UnsafeMutableRawPointer(bitPattern: bounds[0]) else { continue }
            // EINVAL before Linux 5.4 (no MADV_PAGEOUT): nothing to do.
            _ = madvise(start, Int(bounds[1] - bounds[0]), MADV_PAGEOUT)
        }
    }
}
