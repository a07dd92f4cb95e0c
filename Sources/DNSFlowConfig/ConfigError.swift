/// A config file that cannot be used: which key, and why. Shown to the user as one line.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The dotted key path, e.g. `spec.agent.ebpf.cacheActiveTimeout`; "" for the whole file.
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { path.isEmpty ? "config: \(reason)" : "config: \(path): \(reason)" }
}
