import Foundation

/// A collector setup failure, worded so the user knows what to change, with the error behind it.
public struct CollectorError: Error, CustomStringConvertible {
    private enum Code {
        case config(keyPath: String, reason: String)
        case configFile(path: String)
        case store
    }

    private let code: Code
    /// What failed underneath: the config reader's error, the file system's, the store's.
    public let underlying: any Error

    static func config(_ keyPath: String, _ reason: String, underlying: any Error) -> CollectorError {
        CollectorError(code: .config(keyPath: keyPath, reason: reason), underlying: underlying)
    }

    static func configFile(_ path: String, underlying: any Error) -> CollectorError {
        CollectorError(code: .configFile(path: path), underlying: underlying)
    }

    static func store(_ underlying: any Error) -> CollectorError {
        CollectorError(code: .store, underlying: underlying)
    }

    /// The key path of a configuration error (`ipfix.listen`), nil for other errors.
    public var keyPath: String? {
        if case .config(let keyPath, _) = code { return keyPath }
        return nil
    }

    public var description: String {
        switch code {
        case .config(let keyPath, let reason): "config \(keyPath): \(reason)"
        case .configFile(let path): "config file \(path): cannot read it (\(underlying.localizedDescription))"
        // The store's own message says what to check.
        case .store: "\(underlying)"
        }
    }
}
