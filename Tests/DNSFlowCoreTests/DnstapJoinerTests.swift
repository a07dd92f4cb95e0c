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
        joiner.add([
            Self.event(.clientQuery, at: 0, id: 7),
            Self.event(.upstreamQuery, at: 200_000, id: 900),
            Self.event(.upstreamResponse, at: 40_700_000, id: 900, rcode: .noError),
            Self.event(.clientResponse, at: 41_000_000, id: 7, rcode: .noError),
        ])
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
        joiner.add([Self.event(.clientQuery, at: 0, id: 8), Self.event(.clientResponse, at: 100_000, id: 8)])
        var records = [Self.record(from: "10.0.0.2", 40_000, id: 8)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsCacheHit == true && records[0].dnsUpstream.isEmpty)
        #expect(joiner.heldCount == 0, "a joined lookup is let go")
    }

    @Test func anotherSendersUpstreamIsNotOurs() {
        var joiner = DnstapJoiner()
        joiner.add([
            Self.event(.clientQuery, at: 0, id: 7),
            Self.event(.upstreamQuery, at: 200_000, id: 900, sender: 2),
            Self.event(.clientResponse, at: 41_000_000, id: 7),
        ])
        var records = [Self.record(from: "10.0.0.2", 40_000, id: 7)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsCacheHit == true)
    }

    @Test func messagesWaitForALaterWindowAndExpire() {
        var joiner = DnstapJoiner(retention: .seconds(10))
        joiner.add([Self.event(.clientQuery, at: 0, id: 7), Self.event(.clientResponse, at: 100_000, id: 7)])
        var none = [FlowRecord]()[...]
        joiner.annotate(&none)
        #expect(joiner.heldCount == 1)
        joiner.add([Self.event(.clientQuery, at: 11_000_000_000, id: 9)])
        #expect(joiner.heldCount == 1, "the old lookup is gone, the new one held")
    }

    @Test func aRecordNoMessageNamesIsLeftAlone() {
        var joiner = DnstapJoiner()
        joiner.add([Self.event(.clientQuery, at: 0, id: 7), Self.event(.clientResponse, at: 100_000, id: 7)])
        var records = [Self.record(from: "10.0.0.2", 40_001, id: 7)][...]
        joiner.annotate(&records)
        #expect(records[0].dnsCacheHit == nil && records[0].dnsServerSource == nil)
    }
}
