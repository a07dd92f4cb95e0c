import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to load, attach or read the BPF program, with what to do about it.
public struct ProbeError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case openingObject
        case sizingMap(name: String, entries: UInt32)
        case loading(ProgramBuild)
        case mountingTraceFS
        case attaching(program: String)
        case openingCgroup(path: String)
        case attachingCgroup(program: String, path: String)
        case mappingPendingTable
        case openingRingBuffer
        case evictingFlows
    }

    private let code: Code
    /// What the system or libbpf returned, if it said.
    public let underlying: (any Error & Sendable)?
    /// libbpf's last lines before the failure (the verifier's log among them), if any.
    public let libbpfLog: [String]

    private init(_ code: Code, errno: Int32, libbpfLog: [String] = []) {
        self.code = code
        self.underlying = POSIXErrorCode(rawValue: abs(errno)).map { POSIXError($0) }
        self.libbpfLog = libbpfLog
    }

    static func openingObject(errno: Int32) -> Self { Self(.openingObject, errno: errno) }
    static func sizingMap(_ name: String, to entries: UInt32, errno: Int32) -> Self {
        Self(.sizingMap(name: name, entries: entries), errno: errno)
    }
    static func loading(_ build: ProgramBuild, errno: Int32, libbpfLog: [String]) -> Self {
        Self(.loading(build), errno: errno, libbpfLog: libbpfLog)
    }
    static func mountingTraceFS(errno: Int32) -> Self { Self(.mountingTraceFS, errno: errno) }
    static func attaching(_ program: String, errno: Int32, libbpfLog: [String]) -> Self {
        Self(.attaching(program: program), errno: errno, libbpfLog: libbpfLog)
    }
    static func openingCgroup(_ path: String, errno: Int32) -> Self { Self(.openingCgroup(path: path), errno: errno) }
    static func attachingCgroup(_ program: String, to path: String, errno: Int32, libbpfLog: [String]) -> Self {
        Self(.attachingCgroup(program: program, path: path), errno: errno, libbpfLog: libbpfLog)
    }
    static func mappingPendingTable(errno: Int32) -> Self { Self(.mappingPendingTable, errno: errno) }
    static func openingRingBuffer(errno: Int32) -> Self { Self(.openingRingBuffer, errno: errno) }
    static func evictingFlows(errno: Int32) -> Self { Self(.evictingFlows, errno: errno) }

    public var description: String {
        var message = what
        if let underlying = underlying as? POSIXError {
            message += ": " + String(cString: strerror(underlying.code.rawValue))
            if underlying.code == .EPERM || underlying.code == .EACCES {
                message += "; run as root, or grant CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_RESOURCE"
            }
        }
        if !libbpfLog.isEmpty { message += ":\n" + libbpfLog.joined(separator: "\n") }
        return message
    }

    private var what: String {
        switch code {
        case .openingObject: "Opening the embedded BPF object"
        case .sizingMap(let name, let entries): "Sizing map \(name) to \(entries)"
        case .loading(let build):
            "Loading the BPF program (\(build.tracepoints) tracepoints, \(build.pendingTable) pending table)"
        case .mountingTraceFS: "Mounting tracefs on /sys/kernel/tracing for classic tracepoints"
        case .attaching(let program): "Attaching \(program)"
        case .openingCgroup(let path): "Opening cgroup v2 root \(path)"
        case .attachingCgroup(let program, let path): "Attaching \(program) to \(path)"
        case .mappingPendingTable: "Mapping the pending-query table (dns_pending)"
        case .openingRingBuffer: "Opening the DNS event ring buffer"
        case .evictingFlows: "Evicting flows"
        }
    }
}
