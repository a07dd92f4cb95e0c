/// Links a query asked again to the one that got no answer: the same client (address, process, namespace),
/// name and type, after a query that timed out, or on the same socket and id once its response had been
/// seen (the response never reached the socket). The later
/// transaction carries `DnsRetryOf` (the earlier id) and `DnsRetryGapMs` (start to start).
public struct RetryLinker: Sendable {
    private struct Asker: Hashable {
        var client: DNSClient
        var name: String
        var qtype: UInt16
    }

    private struct Asked {
        var id: UInt16
        var clientPort: UInt16
        var startMs: Int64
        var timedOut: Bool
    }

    private let maxGapMs: Int64
    private let capacity: Int
    private var asked: [Asker: Asked] = [:]

    /// `maxGap`: the longest wait a retry follows its query by (glibc's default is 5 s per try).
    public init(maxGap: Duration = .seconds(12), capacity: Int = 16_384) {
        maxGapMs = maxGap.wholeMilliseconds
        self.capacity = capacity
    }

    /// Sets the retry fields on the window's transactions, in place; other records are left alone.
    public mutating func link(_ records: inout [FlowRecord]) {
        let order = records.indices.filter { records[$0].isTransaction && records[$0].dnsName != nil }
            .sorted { records[$0].timeFlowStartMs < records[$1].timeFlowStartMs }
        for index in order {
            let record = records[index]
            let asker = Asker(
                client: DNSClient(record), name: record.dnsName!.lowercased(), qtype: record.dnsQType?.rawValue ?? 0)
            if let before = asked[asker], record.timeFlowStartMs - before.startMs <= maxGapMs,
                before.timedOut || (before.id == record.dnsId && before.clientPort == record.srcPort)
            {
                records[index].dnsRetryOf = before.id
                records[index].dnsRetryGapNs = UInt64(max(record.timeFlowStartMs - before.startMs, 0)) * 1_000_000
            }
            asked[asker] = Asked(
                id: record.dnsId ?? 0, clientPort: record.srcPort, startMs: record.timeFlowStartMs,
                timedOut: record.dnsErrno == DNSErrno.timedOut)
        }
        if asked.count > capacity, let newest = order.last.map({ records[$0].timeFlowStartMs }) {
            asked = asked.filter { newest - $0.value.startMs <= maxGapMs }
            if asked.count > capacity { asked.removeAll(keepingCapacity: true) }
        }
    }
}
