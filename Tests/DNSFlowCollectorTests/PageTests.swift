import DNSFlowCore
import DNSFlowStore
import DNSFlowTestSupport
import Foundation
import Testing

@testable import DNSFlowCollector

/// The page in headless Chromium against a live collector holding sample lookups; `PageBrowserTests` does the same
/// with the records of the real agent.
@Suite(.serialized) struct PageTests {
    /// 120 lookups over the last three minutes: five names, a sixth of them NXDomain and a sixth ServFail.
    static func sampleLookups(now: Int64) -> [FlowRecord] {
        let names = [
            "api.example.test", "www.example.test", "cdn.example.test", "db.internal.test", "mail.example.test",
        ]
        let rcodes: [DNSResponseCode] = ["NoError", "NoError", "NoError", "NXDomain", "ServFail", "Refused"]
        return (0..<120).map { (i: Int) -> FlowRecord in
            var r = dnsRecord(
                id: i == 7 ? 4242 : UInt16(1000 + i), name: names[i % names.count], rcode: rcodes[i % rcodes.count],
                latency: Double((i * 37) % 300) / 7 + 0.25, endMs: now - Int64(i) * 1500,
                src: IPAddress(ipv4: 10, 0, UInt8(i % 3), UInt8(10 + i % 7)))
            r.recordType = .dnsTransaction
            r.netNsName = ["checkout", "cart", nil][i % 3]
            return r
        }
    }

    @Test func theURLsFiltersNarrowTheTableAndTheChartsAreDrawn() async throws {
        _ = try HeadlessChromium.path()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await withLiveCollector(in: dir) { collector, port in
            collector.ingest(Self.sampleLookups(now: FlowStore.nowMs()))
            try await waitUntilWritten(collector, 120)
            let dom = try await HeadlessChromium.dom("http://127.0.0.1:\(port)/?dnsId=4242")
            #expect(PageDOM.lookupRows(dom, "data-dns-id") == ["4242"], "only the id in the URL")
            #expect(dom.contains("aria-label=\"lookups per second by response code\""), "the rate chart")
            #expect(dom.contains("aria-label=\"latency percentiles\""), "the latency chart")
            // Lookup 7 (id 4242) asked cdn.example.test from the namespace "cart": the panels follow the filters too.
            #expect(dom.contains("data-filter=\"dnsName\" data-value=\"cdn.example.test\""), "the top panels")
            #expect(!dom.contains("data-value=\"db.internal.test\""), "only the filtered lookup's name")
            #expect(dom.contains(">cart<"), "the client's name over its address")

            let errors = try await HeadlessChromium.dom("http://127.0.0.1:\(port)/#harness=click:[data-quick=errors]")
            let outcomes = Set(PageDOM.lookupRows(errors, "data-rcode"))
            #expect(!outcomes.isEmpty && !outcomes.contains("NoError"), "the errors quick filter: \(outcomes)")
            #expect(errors.contains("aria-pressed=\"true\""))

            let phone = try HeadlessChromium.artifacts("page-phone.png")
            try await HeadlessChromium.screenshot("http://127.0.0.1:\(port)/", to: phone, window: "390,1400")
            #expect(FileManager.default.fileExists(atPath: phone.path))
        }
    }

    @Test func clickingALookupOpensItsWaterfall() async throws {
        _ = try HeadlessChromium.path()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await withLiveCollector(in: dir) { collector, port in
            let now = FlowStore.nowMs()
            collector.ingest([
                SampleRecords.dnatLookup(id: 4242, endMs: now), SampleRecords.namedConnection(endMs: now),
            ])
            try await waitUntilWritten(collector, 2)
            let url = "http://127.0.0.1:\(port)/?dnsId=4242#harness=click:tr.lookup"
            let dom = try await HeadlessChromium.dom(url)
            #expect(dom.contains("data-harness=\"done\""), "the harness ran")
            #expect(dom.components(separatedBy: "<g class=\"stage\"").count == 5, "four stages")
            #expect(dom.contains("+0.215 ms between"), "router in 0.698 ms, out 0.483 ms")
            #expect(dom.contains("alias.example.test (CNAME), 10.9.9.9, fd00::9") && dom.contains("300 s"))
            #expect(dom.contains("QR RD RA"), "the flags by name")
            #expect(dom.contains("<b>dig</b> · pid 4242"), "who asked")
            #expect(dom.contains("10.96.0.10:53 <span class=\"muted\">→ 10.0.2.53:5353"), "the server after NAT")
            let screenshot = try HeadlessChromium.artifacts("waterfall-sample.png")
            try await HeadlessChromium.screenshot(url, to: screenshot)

            let flows = try await HeadlessChromium.dom("http://127.0.0.1:\(port)/?tab=flows")
            #expect(flows.contains("data-record-type=\"flow\"") && flows.contains(">web.example.test<"))
        }
    }
}
