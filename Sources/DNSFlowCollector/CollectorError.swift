/// A collector setup failure, worded so the user knows what to change.
public struct CollectorError: Error, CustomStringConvertible, Equatable {
    enum Code: Equatable {
        case config(keyPath: String)
        case configFile(path: String)
        case store
    }

    let code: Code
    public let reason: String

    static func config(_ keyPath: String, _ reason: String) -> CollectorError {
        CollectorError(code: .config(keyPath: keyPath), reason: reason)
    }

    static func configFile(_ path: String, _ reason: String) -> CollectorError {
        CollectorError(code: .configFile(path: path), reason: reason)
    }

    static func store(_ reason: String) -> CollectorError {
        CollectorError(code: .store, reason: reason)
    }

    /// The key path of a configuration error (`ipfix.listen`), nil for other errors.
    public var keyPath: String? {
        if case .config(let keyPath) = code { return keyPath }
        return nil
    }

    public var description: String {
        switch code {
        case .config(let keyPath): "config \(keyPath): \(reason)"
        case .configFile(let path): "config file \(path): \(reason)"
        case .store: reason
        }
    }
}
