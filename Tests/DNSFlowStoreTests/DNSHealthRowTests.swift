import DNSFlowCore
import DNSFlowTestSupport
import Testing

@testable import DNSFlowStore

@Suite struct DNSHealthRowTests {
    @Test("a resolution and a retried transaction keep their DNS health fields in the store")
    func roundTrip() async throws {
        let t = try TemporaryStore()
        defer { t.remove() }
        let resolution = SampleRecords.resolution(endMs: 1_700_000_000_999)
        var retried = SampleRecords.dnatLookup(id: 11, endMs: 1_700_000_000_998)
        (retried.dnsRetryOf, retried.dnsRetryGapNs) = (10, 5_000_123_000)
        try await t.store.insert([resolution, retried])
        let page = try await t.store.query(FlowQuery())
        #expect(page.flows == [resolution, retried])
    }
}
