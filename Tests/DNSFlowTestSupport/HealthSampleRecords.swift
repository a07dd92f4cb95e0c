import DNSFlowCore

extension FlowRecord {
    /// Every DNS health field set, as a resolution that took a timeout would have them.
    public mutating func setEveryHealthField() {
        dnsBaseName = "web"
        dnsTries = [
            DNSTry(name: "web.a.test", qtype: .a, rcode: .nameError, latencyNs: 213_000, id: 1),
            DNSTry(name: "web", qtype: .aaaa, rcode: nil, latencyNs: nil, id: 2),
        ]
        dnsWastedQueries = 1
        dnsWastedNs = 1_500_000
        dnsSearchFix = .trailingDot
        dnsTimeouts = 1
        dnsRetryOf = 77
        dnsRetryGapNs = 5_000_000_000
        dnsAlertReason = "150 unique subdomains within a minute"
        dnsDropReason = "NETFILTER_DROP"
    }
}

extension SampleRecords {
    /// A search-path resolution with every DNS health field set.
    public static func resolution(endMs: Int64 = 1_763_812_800_001) -> FlowRecord {
        var r = dnatLookup(id: 3, endMs: endMs)
        r.recordType = .dnsResolution
        r.dnsStages = []
        r.setEveryHealthField()
        return r
    }
}
