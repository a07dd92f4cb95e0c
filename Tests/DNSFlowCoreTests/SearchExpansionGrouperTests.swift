import DNSFlowCore
import Testing

/// A transaction as the assembler makes it: `name`, `qtype`, the client's process, its start and its answer.
func lookup(
    _ name: String, _ qtype: DNSQueryType = .a, rcode: DNSResponseCode? = .nameError, id: UInt16,
    atMs startMs: Int64, latencyMs: Int64 = 1, pid: UInt32 = 42, netNs: UInt32 = 7, port: UInt16 = 40_000
) -> FlowRecord {
    var r = FlowRecord(
        recordType: .dnsTransaction, srcAddr: IPAddress("10.0.0.2"), dstAddr: IPAddress("10.0.0.53"),
        srcPort: port, dstPort: 53, proto: 17, etype: 0x0800, bytes: 120, packets: 2, timeFlowStartMs: startMs,
        timeFlowEndMs: startMs + latencyMs, interfaces: ["eth0"], ifDirections: [1], flags: 0, netNs: netNs,
        nodeName: "node", dnsId: id, dnsFlagsResponseCode: rcode,
        dnsLatencyNs: rcode == nil ? nil : UInt64(latencyMs) * 1_000_000, dnsName: name, dnsQType: qtype,
        dnsErrno: rcode == nil ? DNSErrno.timedOut : DNSErrno.none)
    r.requester = Requester(pid: pid, comm: "getent", cgroupId: 1)
    return r
}

@Suite struct SearchExpansionGrouperTests {
    let list = SearchList(suffixes: ["a.test", "b.test", "svc.test"], ndots: 5)

    /// glibc's order for `web` under ndots:5: every suffix, then the name as asked, A and AAAA together.
    func glibcTries(start: Int64 = 1_000, answeredAs final: String = "web") -> [FlowRecord] {
        var records: [FlowRecord] = []
        var id: UInt16 = 1
        for (step, name) in ["web.a.test", "web.b.test", "web.svc.test", "web"].enumerated() {
            let rcode: DNSResponseCode = name == final ? .noError : .nameError
            records.append(lookup(name, .a, rcode: rcode, id: id, atMs: start + Int64(step) * 10))
            records.append(lookup(name, .aaaa, rcode: rcode, id: id + 1, atMs: start + Int64(step) * 10))
            id += 2
            if name == final { break }
        }
        return records
    }

    @Test("one resolution: the NXDOMAIN tries, the answer, the wasted queries and time")
    func oneResolution() {
        var grouper = SearchExpansionGrouper()
        let tries = glibcTries()
        #expect(grouper.resolutions(of: tries, nowMs: 1_100) { _ in list }.isEmpty, "not settled within a second")
        let settled = grouper.resolutions(of: [], nowMs: 3_000) { _ in list }
        #expect(settled.count == 1)
        let (r, outcome) = (settled[0].record, settled[0].outcome)
        #expect(outcome == .answered && r.recordType == .dnsResolution)
        #expect(r.dnsBaseName == "web" && r.dnsName == "web" && r.dnsFlagsResponseCode == .noError)
        #expect(r.dnsTries.map(\.name) == tries.map(\.dnsName!))
        #expect(r.dnsTries.map(\.id) == Array(1...8))
        #expect(r.dnsWastedQueries == 6 && r.dnsWastedNs == 30_000_000)
        #expect(r.dnsSearchFix == .trailingDot && r.dnsTimeouts == nil)
        #expect(r.timeFlowStartMs == 1_000 && r.timeFlowEndMs == 1_031 && r.dnsLatencyNs == 31_000_000)
        #expect(r.requester?.pid == 42 && r.bytes == 8 * 120)
    }

    @Test("a name found under the first suffix wastes nothing; one asked for once makes no resolution")
    func noWaste() {
        var grouper = SearchExpansionGrouper()
        var tries = glibcTries(answeredAs: "web.a.test")
        tries.append(lookup("db", rcode: .noError, id: 99, atMs: 1_000, pid: 43))
        let settled = grouper.resolutions(of: tries, nowMs: nil) { _ in list }
        #expect(settled.count == 0, "web.a.test alone was asked: \(settled.map(\.record.dnsTries))")
    }

    @Test("every name NXDOMAIN: a failed resolution whose every try was wasted")
    func failed() {
        var grouper = SearchExpansionGrouper()
        let tries = glibcTries(answeredAs: "none")
        let settled = grouper.resolutions(of: tries, nowMs: nil) { _ in list }
        #expect(settled.map(\.outcome) == [.failed])
        #expect(settled.first?.record.dnsWastedQueries == 8 && settled.first?.record.dnsName == "web")
    }

    @Test("two processes, two base names, and a namespace with no search list stay apart")
    func apart() {
        var grouper = SearchExpansionGrouper()
        var records = glibcTries()
        records += glibcTries().map {
            var r = $0; r.requester?.pid = 50; return r
        }
        records += ["api.a.test", "api.b.test", "api"].enumerated().map {
            lookup($1, rcode: $1 == "api" ? .noError : .nameError, id: 200 + UInt16($0), atMs: 1_001 + Int64($0))
        }
        records += glibcTries().map {
            var r = $0; r.netNs = 8; return r
        }
        let settled = grouper.resolutions(of: records, nowMs: nil) { $0 == 7 ? list : nil }
        #expect(settled.count == 3)
        #expect(settled.compactMap(\.record.dnsBaseName).sorted() == ["api", "web", "web"])
        #expect(settled.map(\.record.dnsTries.count).sorted() == [3, 8, 8])
    }

    @Test("a name with a dot under ndots:5: the fix is a lower ndots")
    func dottedName() {
        var grouper = SearchExpansionGrouper()
        let records = ["web.ns.a.test", "web.ns.b.test", "web.ns"].enumerated().map {
            lookup($1, rcode: $1 == "web.ns" ? .noError : .nameError, id: UInt16($0), atMs: 1_000 + Int64($0))
        }
        let settled = grouper.resolutions(of: records, nowMs: nil) { _ in list }
        #expect(settled.first?.record.dnsBaseName == "web.ns" && settled.first?.record.dnsSearchFix == .lowerNdots)
    }

    @Test("resolv.conf: the last search line wins, ndots from options")
    func resolvConf() {
        let list = SearchList(
            resolvConf:
                "nameserver 10.0.0.10\ndomain x.test\nsearch ns.svc.cluster.local. svc.cluster.local\noptions attempts:2 ndots:5\n"
        )
        #expect(list == SearchList(suffixes: ["ns.svc.cluster.local", "svc.cluster.local"], ndots: 5))
        #expect(SearchList(resolvConf: "nameserver 1.1.1.1\n") == SearchList(suffixes: [], ndots: 1))
    }
}

@Suite struct RetryLinkerTests {
    @Test("a query that timed out, asked again with a new id, carries the id it retried and the gap")
    func timeoutRetried() {
        var linker = RetryLinker()
        var records = [
            lookup("web", rcode: nil, id: 10, atMs: 1_000), lookup("web", rcode: .noError, id: 11, atMs: 6_000),
            lookup("web", .aaaa, rcode: .noError, id: 12, atMs: 1_000),
        ]
        linker.link(&records)
        #expect(records[1].dnsRetryOf == 10 && records[1].dnsRetryGapNs == 5_000_000_000)
        #expect(records[0].dnsRetryOf == nil && records[2].dnsRetryOf == nil, "another type is no retry")
    }

    @Test("the same id on the same socket after an answer: the answer never reached the socket")
    func sameIdAgain() {
        var linker = RetryLinker()
        var first = [lookup("web", rcode: .noError, id: 10, atMs: 1_000)]
        linker.link(&first)
        var later = [
            lookup("web", rcode: .noError, id: 10, atMs: 3_000), lookup("web", rcode: .noError, id: 20, atMs: 3_500),
        ]
        linker.link(&later)
        #expect(later[0].dnsRetryOf == 10 && later[0].dnsRetryGapNs == 2_000_000_000)
        #expect(later[1].dnsRetryOf == nil, "a new lookup after an answer is no retry")
    }

    @Test("an ask long after a timeout is a lookup of its own")
    func longAfter() {
        var linker = RetryLinker()
        var records = [lookup("db", rcode: nil, id: 1, atMs: 0), lookup("db", rcode: .noError, id: 2, atMs: 60_000)]
        linker.link(&records)
        #expect(records[1].dnsRetryOf == nil)
    }
}

@Suite struct SocketHealthTests {
    @Test("sockstat's UDP line and snmp's Udp counters, as Linux 6.x writes them")
    func parses() {
        let sockstat = """
            sockets: used 1240
            TCP: inuse 12 orphan 0 tw 3 alloc 20 mem 2
            UDP: inuse 4 mem 7
            UDPLITE: inuse 0
            """
        let snmp = """
            Ip: Forwarding DefaultTTL
            Ip: 1 64
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
            Udp: 6021 17 233 6000 230 0 3 0 0
            UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors
            UdpLite: 0 0 0 0 0 0 0 0 0
            """
        #expect(
            SocketHealth(sockstat: sockstat[...], snmp: snmp[...])
                == SocketHealth(
                    udpInUse: 4, udpMemoryPages: 7, inErrors: 233, rcvbufErrors: 230, noPorts: 17, inCsumErrors: 3))
        #expect(SocketHealth(sockstat: "TCP: inuse 1", snmp: snmp[...]) == nil)
    }
}
