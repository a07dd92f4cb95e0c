/// Groups the transactions of one resolution that a search list expanded (`ndots`, `search`) into a
/// `dnsResolution` record: one process in one namespace asking for names made from one base name,
/// each try after the one before. The transactions stay records of their own.
///
/// A try joins an open resolution of its process when the names it may have been made from
/// (`SearchList.bases`) meet the resolution's; after the first NoError only the answered name joins
/// (its other query type). A resolution goes out once no try joined it for `settle`, in the records'
/// own time, and only if it asked for more than one name.
public struct SearchExpansionGrouper: Sendable {
    /// The outcome `dnsflow_dns_search_expansions_total` counts.
    public enum Outcome: String, Sendable, CaseIterable {
        case answered, failed
    }

    private struct Resolution {
        var bases: Set<String>
        var list: SearchList
        /// The transactions, in arrival order.
        var records: [FlowRecord]
        var answeredName: String?
        var lastEndMs: Int64
    }

    private let settleMs: Int64
    private let maxGapMs: Int64
    private let maxOpen: Int
    private var open: [DNSClient: [Resolution]] = [:]
    private var openCount = 0
    /// Transactions not grouped because `maxOpen` resolutions were open.
    public private(set) var dropped = 0

    /// `maxGap` bounds the wait between two tries (a timeout and its retry fit within it).
    public init(settle: Duration = .seconds(1), maxGap: Duration = .seconds(12), maxOpen: Int = 4_096) {
        settleMs = settle.wholeMilliseconds
        maxGapMs = maxGap.wholeMilliseconds
        self.maxOpen = maxOpen
    }

    /// Takes the window's transactions (other records are ignored) and returns the resolutions settled
    /// by `nowMs` (epoch ms), with their outcomes; `nowMs` nil (shutdown) settles every one.
    /// `searchList` gives a namespace's list; a namespace without one expands nothing.
    public mutating func resolutions(
        of records: [FlowRecord], nowMs: Int64?, searchList: (UInt32) -> SearchList?
    ) -> [(record: FlowRecord, outcome: Outcome)] {
        var lists: [UInt32: SearchList?] = [:]
        for record in records.lazy.filter(\.isTransaction).sorted(by: { $0.timeFlowStartMs < $1.timeFlowStartMs }) {
            guard let name = record.dnsName else { continue }
            let list: SearchList?
            if let known = lists[record.netNs] {
                list = known
            } else {
                list = searchList(record.netNs)
                lists[record.netNs] = list
            }
            guard let list, !list.suffixes.isEmpty else { continue }
            add(record, name: name, list: list)
        }
        return settle(nowMs: nowMs)
    }

    private mutating func add(_ record: FlowRecord, name: String, list: SearchList) {
        let process = DNSClient(record)
        let bases = list.bases(of: name)
        var resolutions = open[process] ?? []
        let joined = resolutions.firstIndex { resolution in
            guard record.timeFlowStartMs - resolution.lastEndMs <= maxGapMs else { return false }
            if let answered = resolution.answeredName { return answered == name.lowercased() }
            return !resolution.bases.isDisjoint(with: bases)
        }
        if let joined {
            resolutions[joined].bases.formIntersection(bases)
            resolutions[joined].records.append(record)
            resolutions[joined].lastEndMs = max(resolutions[joined].lastEndMs, record.timeFlowEndMs)
            if resolutions[joined].answeredName == nil, record.dnsFlagsResponseCode == .noError {
                resolutions[joined].answeredName = name.lowercased()
            }
        } else {
            guard openCount < maxOpen else {
                dropped += 1
                return
            }
            openCount += 1
            resolutions.append(
                Resolution(
                    bases: bases, list: list, records: [record],
                    answeredName: record.dnsFlagsResponseCode == .noError ? name.lowercased() : nil,
                    lastEndMs: record.timeFlowEndMs))
        }
        open[process] = resolutions
    }

    private mutating func settle(nowMs: Int64?) -> [(record: FlowRecord, outcome: Outcome)] {
        var settled: [(record: FlowRecord, outcome: Outcome)] = []
        for (process, resolutions) in open {
            var waiting: [Resolution] = []
            for resolution in resolutions {
                if let nowMs, nowMs - resolution.lastEndMs < settleMs {
                    waiting.append(resolution)
                    continue
                }
                openCount -= 1
                if let record = Self.record(of: resolution) { settled.append(record) }
            }
            open[process] = waiting.isEmpty ? nil : waiting
        }
        return settled.sorted { $0.record.timeFlowStartMs < $1.record.timeFlowStartMs }
    }

    /// The resolution's record, nil when it asked for one name only (nothing was expanded).
    private static func record(of resolution: Resolution) -> (record: FlowRecord, outcome: Outcome)? {
        let tries = resolution.records.sorted { $0.timeFlowStartMs < $1.timeFlowStartMs }
        let names = Set(tries.compactMap { $0.dnsName?.lowercased() })
        guard names.count > 1, let first = tries.first else { return nil }
        let base = resolution.bases.min { ($0.count, $0) < ($1.count, $1) } ?? first.dnsName ?? ""
        let answered = resolution.answeredName.flatMap { name in
            tries.first { $0.dnsName?.lowercased() == name && $0.dnsFlagsResponseCode == .noError }
        }
        let final = answered ?? tries[tries.count - 1]
        let finalName = final.dnsName?.lowercased()
        let firstFinalStartMs = tries.first { $0.dnsName?.lowercased() == finalName }?.timeFlowStartMs
        let endMs = tries.lazy.filter { $0.dnsName?.lowercased() == finalName }.map(\.timeFlowEndMs).max()

        var record = first
        record.recordType = .dnsResolution
        record.bytes = tries.reduce(0) { $0 + $1.bytes }
        record.packets = tries.reduce(0) { $0 + $1.packets }
        record.timeFlowEndMs = max(endMs ?? final.timeFlowEndMs, first.timeFlowStartMs)
        record.dnsId = final.dnsId
        record.dnsFlags = final.dnsFlags
        record.dnsName = final.dnsName
        record.dnsQType = final.dnsQType
        record.dnsFlagsResponseCode = final.dnsFlagsResponseCode
        record.dnsErrno = final.dnsErrno
        record.dnsLatencyNs = UInt64(record.timeFlowEndMs - first.timeFlowStartMs) * 1_000_000
        record.dnsAnswers = final.dnsAnswers
        record.dnsStages = []
        record.dnsRetransmits = nil
        record.dnsBaseName = base
        record.dnsTries = tries.map {
            DNSTry(
                name: $0.dnsName ?? "", qtype: $0.dnsQType, rcode: $0.dnsFlagsResponseCode, latencyNs: $0.dnsLatencyNs,
                id: $0.dnsId ?? 0)
        }
        let wasted = answered == nil ? tries.count : tries.count { $0.dnsName?.lowercased() != finalName }
        record.dnsWastedQueries = UInt16(clamping: wasted)
        let wastedMs =
            answered == nil
            ? record.timeFlowEndMs - first.timeFlowStartMs : (firstFinalStartMs ?? 0) - first.timeFlowStartMs
        record.dnsWastedNs = UInt64(max(wastedMs, 0)) * 1_000_000
        record.dnsSearchFix = wasted > 0 ? resolution.list.fix(for: base) : nil
        let timeouts = tries.count { $0.dnsErrno == DNSErrno.timedOut || $0.dnsRetryOf != nil }
        record.dnsTimeouts = timeouts > 0 ? UInt16(clamping: timeouts) : nil
        record.dnsRetryOf = nil
        record.dnsRetryGapNs = nil
        return (record, answered == nil ? .failed : .answered)
    }
}
