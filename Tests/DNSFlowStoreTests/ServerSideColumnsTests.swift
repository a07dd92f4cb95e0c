import DNSFlowCore
import DNSFlowTestSupport
import Testing

@testable import DNSFlowStore

struct ServerSideColumnsTests {
    @Test func aMissItsUpstreamAndTheClientItServedRoundTrip() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        var miss = SampleRecords.dnatLookup(id: 7, endMs: 1_700_000_000_998)
        miss.dnsCacheHit = false
        miss.dnsUpstream = [
            DNSLinkedLookup(addr: "fd00::53", port: 53, dnsId: 900, latencyNs: 40_500_000, rcode: .noError),
            DNSLinkedLookup(addr: "10.0.1.53", port: 5353, dnsId: 901),
        ]
        miss.dnsServerSource = .dnstap
        var upstream = SampleRecords.dnatLookup(id: 900, endMs: 1_700_000_000_997)
        upstream.dnsServes = [DNSLinkedLookup(addr: "10.0.0.2", port: 40_000, dnsId: 7)]
        upstream.dnsServerSource = .packets
        var hit = SampleRecords.dnatLookup(id: 8, endMs: 1_700_000_000_996)
        hit.dnsCacheHit = true
        hit.dnsServerSource = .packets
        let unknown = SampleRecords.dnatLookup(id: 9, endMs: 1_700_000_000_995)
        try await t.store.insert([miss, upstream, hit, unknown])
        #expect(try await t.store.query(FlowQuery()).flows == [miss, upstream, hit, unknown])
    }

    @Test func lookupsFilterByWhereTheirServerSideCameFrom() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        var joined = SampleRecords.dnatLookup(id: 7, endMs: 1_700_000_000_998)
        joined.dnsServerSource = .dnstap
        var fromPackets = SampleRecords.dnatLookup(id: 8, endMs: 1_700_000_000_997)
        fromPackets.dnsServerSource = .packets
        var alone = FlowRecord.empty
        (alone.recordType, alone.srcAddr, alone.dstAddr, alone.srcPort, alone.dstPort) =
            (.dnsTransaction, "10.9.0.2", "10.0.0.53", 40_000, 53)
        (alone.proto, alone.etype, alone.timeFlowEndMs, alone.nodeName) = (17, 0x0800, 1_700_000_000_996, "n")
        (alone.dnsId, alone.dnsName, alone.dnsLatencyNs, alone.dnsCacheHit) = (9, "a.test", 40_000_000, false)
        alone.dnsServerSource = .dnstap
        let unknown = SampleRecords.dnatLookup(id: 10, endMs: 1_700_000_000_995)
        try await t.store.insert([joined, fromPackets, alone, unknown])
        var query = FlowQuery()
        query.serverSource = .dnstap
        let dnstap = try await t.store.query(query).flows
        #expect(dnstap == [joined, alone] && dnstap.map(\.isDnstapOnly) == [false, true])
        query.serverSource = .packets
        #expect(try await t.store.query(query).flows.map(\.dnsId) == [8])
    }
}
