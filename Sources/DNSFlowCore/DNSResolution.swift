/// One query a resolution sent: a name the search list made (or the name as asked), and what came of it.
public struct DNSTry: Hashable, Sendable {
    public var name: String
    public var qtype: DNSQueryType?
    /// Absent on a try that timed out.
    public var rcode: DNSResponseCode?
    public var latencyNs: UInt64?
    public var id: UInt16

    public init(name: String, qtype: DNSQueryType?, rcode: DNSResponseCode?, latencyNs: UInt64?, id: UInt16) {
        self.name = name
        self.qtype = qtype
        self.rcode = rcode
        self.latencyNs = latencyNs
        self.id = id
    }
}

/// What would have spared a resolution its wasted tries.
public enum SearchPathFix: UInt8, CaseIterable, Sendable, Hashable {
    /// A name of one label: only an absolute name (`web.`) skips the search list.
    case trailingDot = 1
    /// A name with dots but fewer than `ndots`: a lower `ndots` sends it as asked first.
    case lowerNdots = 2

    /// The line a user reads (`DnsSearchFix`).
    public var line: String {
        switch self {
        case .trailingDot:
            "ask for the name with a trailing dot (web.): an absolute name skips the search list"
        case .lowerNdots:
            "set options ndots:1 (the pod's dnsConfig): a name with a dot then goes out as asked first"
        }
    }

    public init?(line: String) {
        guard let fix = Self.allCases.first(where: { $0.line == line }) else { return nil }
        self = fix
    }
}

/// A namespace's resolver settings that expand names: resolv.conf's `search` list and `ndots`.
public struct SearchList: Hashable, Sendable {
    /// In the order the resolver tries them, no trailing dots, lower case.
    public var suffixes: [String]
    public var ndots: Int

    public init(suffixes: [String], ndots: Int = 1) {
        self.suffixes = suffixes
        self.ndots = ndots
    }

    /// resolv.conf's text: the last `search` (or `domain`) line wins, as in glibc; `options ndots:n`
    /// is capped at 15 as glibc caps it.
    public init(resolvConf text: Substring) {
        var suffixes: [String] = []
        var ndots = 1
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first else { continue }
            switch keyword {
            case "search", "domain":
                suffixes = words.dropFirst().map { Self.normalized($0) }.filter { !$0.isEmpty }
            case "options":
                for option in words.dropFirst() where option.hasPrefix("ndots:") {
                    if let value = Int(option.dropFirst(6)) { ndots = min(max(value, 0), 15) }
                }
            default: continue
            }
        }
        self.init(suffixes: suffixes, ndots: ndots)
    }

    /// The names `name` may have been made from: itself, and itself less each suffix it ends with.
    func bases(of name: String) -> Set<String> {
        let lowered = Self.normalized(Substring(name))
        var bases: Set<String> = [lowered]
        for suffix in suffixes where lowered.count > suffix.count + 1 && lowered.hasSuffix("." + suffix) {
            bases.insert(String(lowered.dropLast(suffix.count + 1)))
        }
        return bases
    }

    /// The fix for a base name that the list expanded.
    func fix(for base: String) -> SearchPathFix {
        base.contains(".") ? .lowerNdots : .trailingDot
    }

    private static func normalized(_ name: Substring) -> String {
        (name.hasSuffix(".") ? name.dropLast() : name).lowercased()
    }
}

/// Who asked, as DNS health tells clients apart: the namespace, the address and the process.
struct DNSClient: Hashable {
    var netNs: UInt32
    var address: IPAddress
    var pid: UInt32

    init(_ record: FlowRecord) {
        netNs = record.netNs
        address = record.srcAddr
        pid = record.requester?.pid ?? 0
    }
}

extension Duration {
    /// Whole milliseconds, for windows in the records' epoch milliseconds.
    var wholeMilliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}
