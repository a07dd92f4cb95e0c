#if canImport(Glibc)
import Glibc
#endif

/// A failure to load, attach or read the BPF program, with what to do about it.
public struct ProbeError: Error, CustomStringConvertible, Sendable {
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    /// From a libbpf call that returned -errno (or set errno).
    init(_ what: String, errno code: Int32) {
        let reason = String(cString: strerror(abs(code)))
        var hint = ""
        if abs(code) == EPERM || abs(code) == EACCES {
            hint = "; run as root, or grant CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_RESOURCE"
        }
        self.message = "\(what): \(reason)\(hint)"
    }

    public var description: String { message }
}
