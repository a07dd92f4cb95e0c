import Yams

/// A YAML node that knows its key path, so every error names the key. Mappings are strict:
/// `finish()` rejects the keys nobody asked for. Shared by the agent's and the collector's configs.
package struct ConfigNode {
    package let node: Node
    package let path: String

    /// An empty document is an empty mapping: every key takes its default.
    package init(yaml: String) throws(ConfigError) {
        do {
            self.node = try Yams.compose(yaml: yaml) ?? .mapping([:])
        } catch {
            throw ConfigError(path: "", reason: "not valid YAML: \(error)")
        }
        self.path = ""
    }

    private init(node: Node, path: String) {
        self.node = node
        self.path = path
    }

    package func fail(_ reason: String) -> ConfigError { ConfigError(path: path, reason: reason) }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A strict view of a mapping.
    package func mapping() throws(ConfigError) -> Mapping {
        guard case .mapping(let m) = node else { throw fail("expected a mapping") }
        var children: [(String, ConfigNode)] = []
        for (key, value) in m {
            guard let name = key.string else { throw fail("keys must be strings") }
            children.append((name, ConfigNode(node: value, path: childPath(name))))
        }
        return Mapping(path: path, children: children)
    }

    package func sequence() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let s) = node else { throw fail("expected a list") }
        return s.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]") }
    }

    package func string() throws(ConfigError) -> String {
        guard case .scalar(let s) = node else { throw fail("expected a string") }
        return s.string
    }

    package func integer<T: FixedWidthInteger>(_ range: ClosedRange<T>) throws(ConfigError) -> T {
        let text = try string()
        guard let wide = Int64(text) else { throw fail("expected a whole number, got '\(text)'") }
        guard let value = T(exactly: wide), range.contains(value) else {
            throw fail("\(wide) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    package func number(_ range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let text = try string()
        guard let value = Double(text), value.isFinite else { throw fail("expected a number, got '\(text)'") }
        guard range.contains(value) else {
            throw fail("\(text) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    package func bool() throws(ConfigError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw fail("expected true or false, got '\(other)'")
        }
    }

    /// One of `T`'s raw values: "expected auto, btf or classic, got 'x'" otherwise.
    package func choice<T: RawRepresentable & CaseIterable>(of _: T.Type = T.self) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map(\.rawValue)
            let listed =
                names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
            throw fail("expected \(listed), got '\(text)'")
        }
        return value
    }

    /// "5s", "100ms", "1m30s", "2h", "7d": see `DurationSyntax`.
    package func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let value = DurationSyntax.parse(text) else {
            throw fail("expected a duration like 5s, 100ms, 1m30s or 7d, got '\(text)'")
        }
        guard value > .zero else { throw fail("must be more than zero, got '\(text)'") }
        return value
    }

    package struct Mapping {
        let path: String
        let children: [(String, ConfigNode)]
        private var used: Set<String> = []

        init(path: String, children: [(String, ConfigNode)]) {
            self.path = path
            self.children = children
        }

        package mutating func optional(_ key: String) -> ConfigNode? {
            used.insert(key)
            return children.first { $0.0 == key }?.1
        }

        package mutating func required(_ key: String) throws(ConfigError) -> ConfigNode {
            guard let node = optional(key) else {
                throw ConfigError(path: path.isEmpty ? key : "\(path).\(key)", reason: "is required")
            }
            return node
        }

        /// Rejects keys that were never read: a typo must not pass silently.
        package func finish() throws(ConfigError) {
            if let unknown = children.first(where: { !used.contains($0.0) }) {
                let known = used.sorted().joined(separator: ", ")
                throw unknown.1.fail("unknown key (known here: \(known))")
            }
        }
    }
}

/// Durations as Go's time.ParseDuration writes them (Kubernetes uses them), plus days:
/// "500ms", "5s", "1m30s", "2h", "7d", "250us".
package enum DurationSyntax {
    private static let units: [(String, Double)] = [
        ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ]

    package static func parse(_ text: String) -> Duration? {
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        var seconds = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            // Longest unit first: "ms" is not "m" then "s".
            guard let unit = units.sorted(by: { $0.0.count > $1.0.count }).first(where: { rest.hasPrefix($0.0) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.0.count)
            seconds += value * unit.1
        }
        guard seconds < 1e10 else { return nil }
        return .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
