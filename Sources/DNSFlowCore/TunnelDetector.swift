#if canImport(Glibc)
    import Glibc
#endif

/// Flags clients that look like DNS tunnelling or exfiltration: per client (namespace, address, process) and
/// registered domain, over a minute of the records' own time, many unique subdomains whose labels are long
/// and random (Shannon entropy per character). CDNs and meshes make long names too, but few distinct ones
/// per client and domain a minute: the unique-subdomain count is the gate, the shape the confirmation. A
/// share of TXT, NULL and CNAME queries, or many bytes a lookup, confirms on its own.
public struct TunnelDetector: Sendable {
    public struct Thresholds: Sendable, Hashable {
        /// Distinct subdomains of one registered domain, from one client, within a minute.
        public var uniqueSubdomains = 100
        /// The mean length of a subdomain's longest label.
        public var labelLength = 24
        /// The mean entropy of the subdomains, bits per character.
        public var entropyBits = 3.5
        /// The share of TXT, NULL and CNAME queries that confirms without the shape.
        public var tunnelTypeShare = 0.5
        public init() {}
    }

    private struct Key: Hashable {
        var client: DNSClient
        var domain: String
    }

    private struct Window {
        var startMs: Int64
        var subdomains: Set<String> = []
        var lookups = 0
        var longestLabels = 0
        var entropy = 0.0
        var tunnelTypes = 0
        var bytes: UInt64 = 0
        var flagged = false
        var example: FlowRecord
    }

    private let suffixes: PublicSuffixList
    private let thresholds: Thresholds
    private let maxWindows: Int
    private var windows: [Key: Window] = [:]
    private static let windowMs: Int64 = 60_000
    /// TXT, NULL, CNAME.
    private static let tunnelTypes: Set<UInt16> = [16, 10, 5]

    public init(suffixes: PublicSuffixList, thresholds: Thresholds = Thresholds(), maxWindows: Int = 65_536) {
        self.suffixes = suffixes
        self.thresholds = thresholds
        self.maxWindows = maxWindows
    }

    /// The `dnsAlert` records for the clients the window's transactions flag (once per client, domain and minute).
    public mutating func alerts(of records: [FlowRecord]) -> [FlowRecord] {
        var alerts: [FlowRecord] = []
        for record in records where record.isTransaction {
            guard let name = record.dnsName, let domain = suffixes.registeredDomain(of: name),
                name.count > domain.count + 1
            else { continue }
            let key = Key(client: DNSClient(record), domain: domain)
            var window = windows[key] ?? Window(startMs: record.timeFlowStartMs, example: record)
            if record.timeFlowStartMs - window.startMs >= Self.windowMs {
                window = Window(startMs: record.timeFlowStartMs, example: record)
            }
            let subdomain = String(name.lowercased().dropLast(domain.count + 1))
            if window.subdomains.insert(subdomain).inserted {
                window.longestLabels += subdomain.split(separator: ".").map(\.utf8.count).max() ?? 0
                window.entropy += Self.entropy(subdomain)
            }
            window.lookups += 1
            if let type = record.dnsQType?.rawValue, Self.tunnelTypes.contains(type) { window.tunnelTypes += 1 }
            window.bytes += record.bytes
            if !window.flagged, let reason = reason(window) {
                window.flagged = true
                alerts.append(alert(window, domain: domain, reason: reason))
            }
            guard windows[key] != nil || windows.count < maxWindows else { continue }
            windows[key] = window
        }
        if let newest = records.lazy.map(\.timeFlowStartMs).max() {
            windows = windows.filter { newest - $0.value.startMs < Self.windowMs }
        }
        return alerts
    }

    private func reason(_ w: Window) -> String? {
        let unique = w.subdomains.count
        guard unique >= thresholds.uniqueSubdomains else { return nil }
        let length = Double(w.longestLabels) / Double(unique)
        let entropy = w.entropy / Double(unique)
        let share = Double(w.tunnelTypes) / Double(w.lookups)
        let shaped = length >= Double(thresholds.labelLength) && entropy >= thresholds.entropyBits
        guard shaped || share >= thresholds.tunnelTypeShare else { return nil }
        let bytes = w.lookups > 0 ? w.bytes / UInt64(w.lookups) : 0
        return "\(unique) unique subdomains within a minute, longest labels \(Int(length)) long on average, "
            + "\(Int(entropy * 10) / 10).\(Int(entropy * 10) % 10) bits a character, "
            + "\(Int(share * 100))% TXT/NULL/CNAME, \(bytes) bytes a lookup"
    }

    private func alert(_ w: Window, domain: String, reason: String) -> FlowRecord {
        var r = w.example
        r.recordType = .dnsAlert
        r.dnsName = domain
        r.dnsAlertReason = reason
        (r.dnsFlagsResponseCode, r.dnsLatencyNs, r.dnsAnswers, r.dnsStages, r.dnsRetransmits) = (nil, nil, nil, [], nil)
        (r.dnsRetryOf, r.dnsRetryGapNs, r.bytes, r.packets) = (nil, nil, w.bytes, UInt64(w.lookups))
        return r
    }

    /// Shannon entropy of the text's characters, bits per character.
    static func entropy(_ text: String) -> Double {
        var counts: [UInt8: Int] = [:]
        for byte in text.utf8 where byte != UInt8(ascii: ".") { counts[byte, default: 0] += 1 }
        let total = Double(counts.values.reduce(0, +))
        guard total > 0 else { return 0 }
        return counts.values.reduce(0.0) { sum, count in
            let p = Double(count) / total
            return sum - p * log2(p)
        }
    }
}
