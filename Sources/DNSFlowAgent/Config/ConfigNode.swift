import Yams

/// A YAML node that knows its key path, so every error names the key. Mappings are strict:
/// `finish()` rejects the keys nobody asked for.
struct ConfigNode {
    let node: Node
    let path: String

    init(yaml: String) throws(ConfigError) {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw ConfigError(path: "", reason: "the file is empty") }
            self.node = node
            self.path = ""
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(path: "", reason: "not valid YAML: \(error)")
        }
    }

    private init(node: Node, path: String) {
        self.node = node
        self.path = path
    }

    func fail(_ reason: String) -> ConfigError { ConfigError(path: path, reason: reason) }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A strict view of a mapping.
    func mapping() throws(ConfigError) -> Mapping {
        guard case .mapping(let m) = node else { throw fail("expected a mapping") }
        var children: [(String, ConfigNode)] = []
        for (key, value) in m {
            guard let name = key.string else { throw fail("keys must be strings") }
            children.append((name, ConfigNode(node: value, path: childPath(name))))
        }
        return Mapping(path: path, children: children)
    }

    func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let s) = node else { throw fail("expected a list") }
        return s.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let s) = node else { throw fail("expected a string") }
        return s.string
    }

    func integer<T: FixedWidthInteger>(_ range: ClosedRange<T>) throws(ConfigError) -> T {
        let text = try string()
        guard let wide = Int64(text) else { throw fail("expected a whole number, got '\(text)'") }
        guard let value = T(exactly: wide), range.contains(value) else {
            throw fail("\(wide) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool() throws(ConfigError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw fail("expected true or false, got '\(other)'")
        }
    }

    /// "5s", "100ms", "1m30s", "2h", "250us": Go's time.ParseDuration units, as Kubernetes uses.
    func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let value = Self.parseDuration(text) else {
            throw fail("expected a duration like 5s, 100ms or 1m, got '\(text)'")
        }
        guard value > .zero else { throw fail("must be more than zero, got '\(text)'") }
        return value
    }

    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(text.trimmingCharactersInSpaces())
        guard !rest.isEmpty else { return nil }
        var seconds = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.0.count)
            seconds += value * unit.1
        }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }

    struct Mapping {
        let path: String
        let children: [(String, ConfigNode)]
        private var used: Set<String> = []

        init(path: String, children: [(String, ConfigNode)]) {
            self.path = path
            self.children = children
        }

        mutating func optional(_ key: String) -> ConfigNode? {
            used.insert(key)
            return children.first { $0.0 == key }?.1
        }

        mutating func required(_ key: String) throws(ConfigError) -> ConfigNode {
            guard let node = optional(key) else {
                throw ConfigError(path: path.isEmpty ? key : "\(path).\(key)", reason: "is required")
            }
            return node
        }

        /// Rejects keys that were never read: a typo must not pass silently.
        func finish() throws(ConfigError) {
            if let unknown = children.first(where: { !used.contains($0.0) }) {
                let known = used.sorted().joined(separator: ", ")
                throw unknown.1.fail("unknown key (known here: \(known))")
            }
        }
    }
}

extension String {
    func trimmingCharactersInSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
