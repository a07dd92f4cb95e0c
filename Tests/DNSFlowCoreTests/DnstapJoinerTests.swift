import DNSFlowCore
import Testing

/// A resolver (sender 1) at 10.0.0.53 answering 10.0.0.2:40000, forwarding from 10.0.1.1 to 10.0.1.53.
struct DnstapJoinerTests {
    static let base: Int64 = 1_700_000_000_000_000_000

    static func event(
        _ kind: DnstapEvent.Kind, at: Int64, id: UInt16, sender: UInt64 = 1, name: String = "a.example.test",
        rcode: DNSResponseCode? = nil
    ) -> DnstapEvent {
        let client = kind == .clientQuery || kind == .clientResponse
        return DnstapEvent(
            kind: kind, sender: sender, proto: 17, queryAddr: client ? "10.0.0.2" : "10.0.1.1",
            queryPort: client ? 40_000 : 51_000, responseAddr: client ? "10.0.0.53" : "10.0.1.53", responsePort: 53,
            id: id, question: DNSQuestion(name: name, type: .a), rcode: rcode, timeNs: base + at)
    }

    static func record(from client: IPAddress, _ port: UInt16, id: UInt16) -> FlowRecord {
        var r = FlowRecord.empty
        r.recordType = .dnsTransaction
        (r.srcAddr, r.srcPort, r.dstPort, r.proto, r.dnsId) = (client, port, 53, 17, id)
        r.dnsLatencyNs = 41_000_000
        return r
    }

    @Test func aMissCarriesItsUpstreamsLatencyAndTheUpstreamRecordServesTheClient() {
        var joiner = DnstapJoiner()
        joiner.add(
            [
                Self.event(.clientQuery, at: 0, id: 7),
                Self.event(.upstreamQuery, at: 200_000, id: 900),
                Self.event(.upstreamResponse, at: 40_700_000, id: 900, rcode: .noError),
                Self.event(.clientResponse, at: 41_000_000, id: 7, rcode: .noError),
            ], nowNs: 0)
        var records = [Self.record(from: "10.0.1.1", 51_000, id: 900), Self.record(from: "10.0.0.2", 40_000, id: 7)][
            ...]
        joiner.annotate(&records)
        #expect(records[1].dnsCacheHit == false && records[1].dnsServerSource == .dnstap)
        #expect(
            records[1].dnsUpstream == [
                DNSLinkedLookup(addr: "10.0.1.53", port: 53, dnsId: 900, latencyNs: 40_500_000, rcode: .noError)
            ])
        #expect(records[0].dnsServes == [DNSLinkedLookup(addr: "10.0.0.2", port: 40_000, dnsId: 7)])
        #expect(records[0].dnsServerSource == .dnstap)
    }

    @Test func aResponseWithNoUpstreamBetweenIsAHit() {
        var joiner = DnstapJoiner()
        joiner.add([Self.event(.clientQuery, at: 0, id: 8), Self.event(.clientResponse, at: 100_000, id: 8)], nowNs: 0)
        var records = [Self.record(from: "10.0.0.2", 40_000, id: 8)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsCacheHit == true && records[0].dnsUpstream.isEmpty)
        #expect(joiner.heldCount == 0, "a joined lookup is let go")
    }

    @Test func anotherSendersUpstreamIsNotOurs() {
        var joiner = DnstapJoiner()
        joiner.add(
            [
                Self.event(.clientQuery, at: 0, id: 7),
                Self.event(.upstreamQuery, at: 200_000, id: 900, sender: 2),
                Self.event(.clientResponse, at: 41_000_000, id: 7),
            ], nowNs: 0)
        var records = [Self.record(from: "10.0.0.2", 40_000, id: 7)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsCacheHit == true)
    }

    @Test func aLookupNoRecordNamedGoesOutAloneAfterTheWindow() throws {
        var joiner = DnstapJoiner(window: .seconds(10))
        var response = Self.event(.clientResponse, at: 41_000_000, id: 7, rcode: .nameError)
        response.flags = 0x8183
        joiner.add(
            [
                Self.event(.clientQuery, at: 0, id: 7), Self.event(.upstreamQuery, at: 200_000, id: 900),
                Self.event(.upstreamResponse, at: 40_700_000, id: 900, rcode: .nameError), response,
            ], nowNs: 0)
        var none = [FlowRecord]()[...]
        joiner.annotate(&none)
        #expect(joiner.expire(nowNs: 9_000_000_000, nodeName: "n").records.isEmpty, "still in the window")
        let records = joiner.expire(nowNs: 11_000_000_000, nodeName: "n").records
        #expect(records.count == 1 && joiner.heldCount == 0)
        let record = try #require(records.first)
        #expect(record.isDnstapOnly && record.nodeName == "n")
        #expect(
            (record.srcAddr, record.srcPort, record.dstAddr, record.dstPort) == ("10.0.0.2", 40_000, "10.0.0.53", 53))
        #expect((record.proto, record.etype, record.dnsId, record.dnsFlags) == (17, 0x0800, 7, 0x8183))
        #expect(
            record.dnsName == "a.example.test" && record.dnsQType == .a && record.dnsFlagsResponseCode == .nameError)
        #expect(record.dnsLatencyNs == 41_000_000 && record.timeFlowEndMs - record.timeFlowStartMs == 41)
        #expect(record.dnsCacheHit == false && record.dnsUpstream.map(\.dnsId) == [900])
    }

    @Test func aJoinedLookupNeverGoesOutAgain() {
        var joiner = DnstapJoiner()
        joiner.add([Self.event(.clientQuery, at: 0, id: 7), Self.event(.clientResponse, at: 100_000, id: 7)], nowNs: 0)
        var records = [Self.record(from: "10.0.0.2", 40_000, id: 7)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsServerSource == .dnstap)
        #expect(joiner.expire(nowNs: nil, nodeName: "n").records.isEmpty)
    }

    @Test func aRecordNotAdmittedLeavesItsLookupToDnstap() {
        var joiner = DnstapJoiner()
        joiner.add([Self.event(.clientQuery, at: 0, id: 7), Self.event(.clientResponse, at: 100_000, id: 7)], nowNs: 0)
        var records = [Self.record(from: "10.0.0.2", 40_000, id: 7)][...]
        joiner.annotate(&records, admitted: { _ in false })
        #expect(records[0].dnsServerSource == nil)
        #expect(joiner.expire(nowNs: nil, nodeName: "n").records.map(\.dnsId) == [7])
    }

    @Test func aFullJoinerDropsAndAQueryWithNoResponseIsCounted() {
        var joiner = DnstapJoiner(capacity: 1)
        let dropped = joiner.add(
            [
                Self.event(.clientQuery, at: 0, id: 7), Self.event(.clientQuery, at: 1, id: 8),
                Self.event(.clientResponse, at: 2, id: 8),
            ], nowNs: 0)
        #expect(dropped == 2)
        let expired = joiner.expire(nowNs: nil, nodeName: "n")
        #expect(expired.records.isEmpty && expired.unanswered == 1)
    }

    @Test func aRecordNoMessageNamesIsLeftAlone() {
        var joiner = DnstapJoiner()
        joiner.add([Self.event(.clientQuery, at: 0, id: 7), Self.event(.clientResponse, at: 100_000, id: 7)], nowNs: 0)
        var records = [Self.record(from: "10.0.0.2", 40_001, id: 7)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsCacheHit == nil && records[0].dnsServerSource == nil)
    }
}
