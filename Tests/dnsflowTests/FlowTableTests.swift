import DNSFlowCore
import DNSFlowTestSupport
import Testing

@testable import dnsflow

struct FlowTableTests {
    static let lookup = SampleRecords.dnatLookup()
    static let connection = SampleRecords.namedConnection()

    /// A query no server answered: no rcode, no latency, one stage.
    static let timeout: FlowRecord = {
        var r = lookup
        r.dnsFlagsResponseCode = nil
        r.dnsLatencyNs = nil
        r.dnsErrno = DNSErrno.timedOut
        r.dnsAnswers = nil
        r.requester = nil
        r.xlatDstAddr = nil
        r.dnsStages = [
            DNSStage(netNs: 4_026_532_100, interface: "eth0", serverAddr: "10.96.0.10", serverPort: 53, latencyNs: nil)
        ]
        return r
    }()

    @Test func aLookupIsOneLineAndFlowsKeepTheirTable() {
        let text = FlowTable.render([Self.connection, Self.lookup, Self.timeout])
        let expected = """
            TIME                      CLIENT  COMM  NAME              TYPE  RCODE    LATENCY_MS  SERVER                          ANSWERS
            2025-11-22T12:00:00.001Z  client  dig   web.example.test  A     NoError  0.713       10.96.0.10:53 → 10.0.2.53:5353  alias.example.test,10.9.9.9,fd00::9
            2025-11-22T12:00:00.001Z  client  -     web.example.test  A     timeout  -           10.96.0.10:53                   -

            TIME                      SRC             DST           PROTO  NAME              QTYPE  ID  RCODE  LATENCY_MS  ERRNO  NETNS       INTERFACES  NODE
            2025-11-22T12:00:00.050Z  10.0.1.2:40000  10.9.9.9:443  TCP    web.example.test  -      -   -      -           -      4026532100  eth0        worker-3

            """
        #expect(text == expected, "\n\(text)")
    }

    @Test func stagesAddAWaterfallScaledToTheClientsWait() {
        let text = FlowTable.render([Self.lookup, Self.timeout], stages: true)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 1 + 1 + 4 + 1 + 1 + 1, "\n\(text)")
        #expect(
            Array(lines[2...5]) == [
                "    client      eth0     10.96.0.10:53   0.713 ms  " + String(repeating: "█", count: 40),
                "    router      veth-r0  10.96.0.10:53   0.698 ms  " + String(repeating: "█", count: 39),
                "    router      veth-r1  10.0.2.53:5353  0.483 ms  " + String(repeating: "█", count: 27),
                "    4026532300  veth-s   10.0.2.53:5353  0.469 ms  " + String(repeating: "█", count: 26),
            ], "\n\(text)")
        #expect(lines[7] == "    4026532100  eth0  10.96.0.10:53  -", "a timeout's stage: no latency, no bar")
    }

    @Test func theClientIsItsNameWhereTheRecordHasOne() {
        var unnamed = Self.lookup
        unnamed.netNsName = nil
        #expect(FlowTable.client(Self.lookup) == "client")
        #expect(FlowTable.client(unnamed) == "0123456789ab", "the container, short")
        unnamed.requester = nil
        #expect(FlowTable.client(unnamed) == "10.0.1.2:53124")
    }

    @Test func csvQuotesWhatWouldSplitAField() {
        let text = FlowTable.csv([Self.lookup, Self.connection])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "TIME,CLIENT,COMM,NAME,TYPE,RCODE,LATENCY_MS,SERVER,ANSWERS")
        #expect(
            lines[1]
                == "2025-11-22T12:00:00.001Z,client,dig,web.example.test,A,NoError,0.713,10.96.0.10:53 → 10.0.2.53:5353,"
                + "\"alias.example.test,10.9.9.9,fd00::9\"")
        #expect(lines[3].hasPrefix("TIME,SRC,DST") && lines[4].hasPrefix("2025-11-22T12:00:00.050Z,10.0.1.2:40000"))
    }

    @Test func followPrintsTheHeaderOnceAndEachRecordOnce() {
        var tail = FollowedRecords()
        var second = Self.lookup
        second.dnsId = 2
        #expect(tail.accept([second, Self.lookup]).count == 2 && tail.since == "\(Self.lookup.timeFlowEndMs)")
        // The next poll, from that millisecond, sees both again and one newer.
        var newer = Self.lookup
        newer.timeFlowEndMs += 5
        #expect(tail.accept([newer, second, Self.lookup]) == [newer])
        #expect(tail.accept([newer]).isEmpty)
        let first = FlowTable.followLines([Self.lookup], header: true, stages: false)
        let next = FlowTable.followLines([newer], header: false, stages: true)
        #expect(first.hasPrefix("TIME ") && first.split(separator: "\n").count == 2)
        #expect(!next.contains("TIME ") && next.split(separator: "\n").count == 1 + 4, "the line and its stages")
    }

    @Test func flowsOnlyPrintTheFlowTable() {
        let text = FlowTable.render([Self.connection], stages: true)
        #expect(text.hasPrefix("TIME                      SRC "))
        #expect(!text.contains("CLIENT") && text.split(separator: "\n").count == 2)
        #expect(FlowTable.render([]) == "")
    }
}
