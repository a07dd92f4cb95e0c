/// A network namespace's conntrack failures as /proc/net/stat/nf_conntrack counts them: a header line, then one
/// line of hex counters per CPU, summed here. `insert_failed` rising with DNS timeouts is the Kubernetes
/// five-second delay (kubernetes issue 56903: glibc's parallel A and AAAA queries race for one conntrack entry,
/// and one is dropped); `drop` counts packets dropped because the table was full.
public struct ConntrackStats: Hashable, Sendable {
    public var insertFailed: UInt64
    public var drop: UInt64

    public init(insertFailed: UInt64, drop: UInt64) {
        self.insertFailed = insertFailed
        self.drop = drop
    }

    /// Nil when the text lacks the header or either column.
    public init?(text: Substring) {
        let lines = text.split(separator: "\n")
        guard let header = lines.first?.split(separator: " "),
            let insertFailed = header.firstIndex(of: "insert_failed"), let drop = header.firstIndex(of: "drop")
        else { return nil }
        var sums = (insertFailed: UInt64(0), drop: UInt64(0))
        for line in lines.dropFirst() {
            let values = line.split(separator: " ")
            guard values.count == header.count, let failed = UInt64(values[insertFailed], radix: 16),
                let dropped = UInt64(values[drop], radix: 16)
            else { return nil }
            sums.insertFailed &+= failed
            sums.drop &+= dropped
        }
        self.init(insertFailed: sums.insertFailed, drop: sums.drop)
    }
}
