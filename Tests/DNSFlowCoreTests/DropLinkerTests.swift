import DNSFlowCore
import Testing

@Suite struct DropLinkerTests {
    func drop(id: UInt16?, atMs timeMs: Int64, port: UInt16 = 40_000, reason: String = "NETFILTER_DROP") -> DNSDrop {
        DNSDrop(
            clientAddr: IPAddress("10.0.0.2"), serverAddr: IPAddress("10.0.0.53"), clientPort: port, serverPort: 53,
            id: id, proto: 17, netNs: 7, response: true, reason: reason, timeMs: timeMs)
    }

    @Test("a dropped response goes on its transaction; others with another id, port or time stay without")
    func onItsTransaction() {
        var linker = DropLinker()
        var records = [
            lookup("a.test", id: 1, atMs: 1_000), lookup("a.test", id: 2, atMs: 1_000),
            lookup("a.test", id: 1, atMs: 1_000, port: 40_001), lookup("a.test", id: 1, atMs: 60_000),
        ]
        linker.link(&records, drops: [drop(id: 1, atMs: 1_001)], nowMs: 2_000)
        #expect(records.map(\.dnsDropReason) == ["NETFILTER_DROP", nil, nil, nil])
        #expect(linker.waitingCount == 0)
    }

    @Test("a drop whose transaction comes in a later window (a query that times out) waits for it, within hold")
    func waitsForLaterWindow() {
        var linker = DropLinker(hold: .seconds(10))
        var first: [FlowRecord] = []
        linker.link(&first, drops: [drop(id: 5, atMs: 1_000), drop(id: 6, atMs: 1_000)], nowMs: 1_500)
        #expect(linker.waitingCount == 2)
        var timedOut = [lookup("b.test", rcode: nil, id: 5, atMs: 999, latencyMs: 5_000)]
        linker.link(&timedOut, drops: [], nowMs: 7_000)
        #expect(timedOut[0].dnsDropReason == "NETFILTER_DROP")
        #expect(linker.waitingCount == 1, "id 6's transaction has not come yet")
        var later: [FlowRecord] = []
        linker.link(&later, drops: [], nowMs: 12_000)
        #expect(linker.waitingCount == 0, "past hold")
    }

    @Test("a drop with no DNS id read (TCP) is not put on a transaction; the last window keeps none waiting")
    func noIdAndFinalWindow() {
        var linker = DropLinker()
        var records = [lookup("a.test", id: 0, atMs: 1_000)]
        linker.link(&records, drops: [drop(id: nil, atMs: 1_000), drop(id: 9, atMs: 1_000)], nowMs: nil)
        #expect(records[0].dnsDropReason == nil)
        #expect(linker.waitingCount == 0)
    }

    @Test("the first drop of a transaction names it")
    func firstReasonKept() {
        var linker = DropLinker()
        var records = [lookup("a.test", id: 1, atMs: 1_000)]
        linker.link(
            &records, drops: [drop(id: 1, atMs: 1_000, reason: "SOCKET_RCVBUFF"), drop(id: 1, atMs: 1_001)],
            nowMs: 2_000)
        #expect(records[0].dnsDropReason == "SOCKET_RCVBUFF")
    }
}

@Suite struct ConntrackStatsTests {
    @Test("insert_failed and drop summed over the CPUs' hex lines (Linux 6.18's layout)")
    func sumsCPUs() {
        // The header and layout captured from this kernel's /proc/net/stat/nf_conntrack; the counts of a node
        // that lost queries to the insert race.
        let text = """
            entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
            0000002a  00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 0000000c 00000001 00000000 00000000  00000000 00000000 00000000 00000000
            0000002a  00000000 00000000 00000000 00000004 00000000 00000000 00000000 00000000 00000010 00000000 00000000 00000000  00000000 00000000 00000000 00000000
            """
        #expect(ConntrackStats(text: text[...]) == ConntrackStats(insertFailed: 28, drop: 1))
    }

    @Test("a file without the columns, or with a line cut short, reads as nothing")
    func malformed() {
        #expect(ConntrackStats(text: "entries found\n00000001 00000002") == nil)
        #expect(ConntrackStats(text: "entries insert_failed drop\n00000001 0000000z 00000000") == nil)
        #expect(ConntrackStats(text: "entries insert_failed drop\n00000001 00000002") == nil)
    }
}
