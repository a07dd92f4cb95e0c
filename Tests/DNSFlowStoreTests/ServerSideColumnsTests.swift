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
}
