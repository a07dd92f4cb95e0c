/// The public-suffix rule (publicsuffix.org): a name's registered domain is its public suffix and one label more.
/// Rules come from the list's text (Debian's `publicsuffix` package: /usr/share/publicsuffix/public_suffix_list.dat);
/// a name under no rule takes its last label as the suffix (the rule `*`).
public struct PublicSuffixList: Sendable {
    private var rules: Set<String> = []
    private var wildcards: Set<String> = []
    private var exceptions: Set<String> = []

    public init(text: Substring) {
        for line in text.split(separator: "\n") {
            let rule = line.prefix { $0 != " " && $0 != "\t" }.lowercased()
            guard !rule.isEmpty, !rule.hasPrefix("//") else { continue }
            if rule.hasPrefix("!") {
                exceptions.insert(String(rule.dropFirst()))
            } else if rule.hasPrefix("*.") {
                wildcards.insert(String(rule.dropFirst(2)))
            } else {
                rules.insert(rule)
            }
        }
    }

    /// `a.b.example.co.uk` → `example.co.uk`; nil for a public suffix itself.
    public func registeredDomain(of name: String) -> String? {
        let labels = name.lowercased().split(separator: ".")
        guard labels.count >= 2 else { return nil }
        var suffixLength = 1
        for start in 0..<labels.count {
            let candidate = labels[start...].joined(separator: ".")
            if exceptions.contains(candidate) {
                suffixLength = labels.count - start - 1
                break
            }
            let parent = labels[(start + 1)...].joined(separator: ".")
            if rules.contains(candidate) || (start + 1 < labels.count && wildcards.contains(parent)) {
                suffixLength = labels.count - start
                break
            }
        }
        guard labels.count > suffixLength else { return nil }
        return labels.suffix(suffixLength + 1).joined(separator: ".")
    }
}
