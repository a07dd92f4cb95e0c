import CBPF
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps libbpf's last warnings (the verifier log among them) so that a load error can show them.
enum LibbpfLog {
    private static let lines = Mutex<[String]>([])
    private static let kept = 40

    static func install() {
        libbpf_set_print { level, format, arguments in
            guard level != LIBBPF_DEBUG, let format, let arguments else { return 0 }
            var buffer = [CChar](repeating: 0, count: 1024)
            _ = vsnprintf(&buffer, buffer.count, format, arguments)
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            LibbpfLog.lines.withLock { lines in
                lines.append(line.trimmingCharacters(in: .newlines))
                if lines.count > LibbpfLog.kept { lines.removeFirst(lines.count - LibbpfLog.kept) }
            }
            return 0
        }
    }

    /// libbpf's recent lines; clears them.
    static func takeLines() -> [String] {
        lines.withLock { lines in
            defer { lines.removeAll() }
            return lines
        }
    }
}

/// Classic tracepoints attach through tracefs, which may be unmounted (minimal hosts, containers).
enum TraceFS {
    static func mount() throws(ProbeError) {
        for path in ["/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"]
        where access(path, F_OK) == 0 {
            return
        }
        guard Glibc.mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, nil) == 0 else {
            throw .mountingTraceFS(errno: errno)
        }
    }
}
