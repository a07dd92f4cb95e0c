import DNSFlowCore
import DNSFlowTestSupport
import Foundation
import Testing

/// The page in headless Chromium, against the real collector fed by the real agent watching digs in a lab: what an
/// on-call engineer clicks, checked in the DOM, with screenshots kept under `.build/artifacts`.
@Suite(.serialized)
struct PageBrowserTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    struct Dig {
        let id: UInt16
        let status: String
        let atMs: Int64
    }

    /// `dig` from the lab's client to the Service address the router translates to the server.
    static func dig(_ lab: Lab, _ name: String) throws -> Dig {
        let atMs = Int64(Date().timeIntervalSince1970 * 1000)
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serviceAddr) \(name) A")
        let header = try #require(digHeader(output), "dig printed no header: \(output)")
        return Dig(id: header.id, status: header.status, atMs: atMs)
    }

    /// Two bursts 12 s apart: the charts' 5 s steps (over 2 minutes) tell them apart.
    static func burstsOfDigs(_ lab: Lab) async throws -> (early: [Dig], late: [Dig]) {
        var early: [Dig] = []
        for name in ["a.example.test", "a.example.test", "missing.example.test", "gone.example.test"] {
            early.append(try dig(lab, name))
        }
        try await Task.sleep(for: .seconds(12))
        var late: [Dig] = []
        for name in ["b.example.test", "b.example.test", "nope.example.test"] { late.append(try dig(lab, name)) }
        return (early, late)
    }

    @Test("a dig's id, its waterfall, a brushed range and the errors quick filter, in the page")
    func anOnCallEngineerFindsTheLookup() async throws {
        _ = try HeadlessChromium.path()
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try lab.translateServiceAddress()
        let collector = try await CollectorProcess()
        do {
            try await Self.browse(lab, collector)
        } catch {
            await collector.stop()
            throw error
        }
        await collector.stop()
    }

    @Test("a lookup from dnstap alone: marked in the table, its waterfall with the cache miss and the upstream's bar")
    func theServerSideInTheWaterfall() async throws {
        _ = try HeadlessChromium.path()
        let lab = try Lab(prefix: "i20")
        defer { try? lab.teardown() }
        let serverSide = try ServerSideTests()
        try await serverSide.startAnsweringServer(lab, delayMs: 40)
        let collector = try await CollectorProcess(httpPort: 19720, ipfixPort: 19721)
        do {
            let lookup = try await serverSide.dnstapOnlyLookup(lab, collector)
            let upstream = try #require(lookup.dnsUpstream.first?.latencyNs)
            let url =
                "\(collector.url)/?dnsId=\(lookup.dnsId ?? 0)&client=\(lab.clientAddr)&serverSource=dnstap&since=5m"
                + "#harness=click:tr.lookup"
            let dom = try await HeadlessChromium.dom(url)
            #expect(dom.contains("data-harness=\"done\""), "\(dom.suffix(300))")
            #expect(PageDOM.lookupRows(dom, "data-dnstap-only") == ["true"], "the row is marked dnstap-only")
            #expect(dom.components(separatedBy: "<g class=\"upstream\"").count - 1 == 1, "one upstream bar")
            #expect(dom.contains("cache miss"))
            let label = String(format: "%.3f ms", Double(upstream) / 1e6)
            #expect(dom.contains(">\(label)</text>"), "the upstream's bar is labelled \(label)")
            try await HeadlessChromium.screenshot(
                url, to: try HeadlessChromium.artifacts("server-side-waterfall.png"), window: "1280,900")
        } catch {
            await collector.stop()
            throw error
        }
        await collector.stop()
    }

    @Test("the DNS health panels: a client's search-path waste with its fix, a tunnel suspect, a drop beside a timeout")
    func healthPanels() async throws {
        _ = try HeadlessChromium.path()
        let collector = try await CollectorProcess(httpPort: Int.random(in: 19_650...19_669))
        do {
            try await Self.healthRecordsShown(collector)
        } catch {
            await collector.stop()
            throw error
        }
        await collector.stop()
    }

    /// The agent's DNS health records as its HTTP exporter posts them, then the page.
    static func healthRecordsShown(_ collector: CollectorProcess) async throws {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let resolution = SampleRecords.resolution(endMs: nowMs)
        var alert = SampleRecords.dnatLookup(id: 9, endMs: nowMs)
        alert.recordType = .dnsAlert
        alert.dnsName = "tunnel.test"
        alert.dnsAlertReason = "200 unique subdomains within a minute"
        var dropped = SampleRecords.dnatLookup(id: 10, endMs: nowMs)
        dropped.dnsDropReason = "NETFILTER_DROP"
        var timedOut = SampleRecords.dnatLookup(id: 11, endMs: nowMs)
        (timedOut.dnsErrno, timedOut.dnsFlagsResponseCode, timedOut.dnsLatencyNs) = (DNSErrno.timedOut, nil, nil)
        var body: [UInt8] = []
        FlowRecordJSON.encode([resolution, alert, dropped, timedOut], into: &body)
        let file = "/tmp/i19-health-\(getpid()).json"
        try Data(body).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        _ = try sh(
            "curl -sf -H 'Content-Type: application/json' --data-binary @\(file) \(collector.url)/api/v1/flows")
        var stored = 0
        for _ in 0..<100 where stored < 4 {
            let json = try sh("curl -sf '\(collector.url)/api/v1/flows?since=5m&limit=10'")
            stored = try FlowRecordJSON.decodePage(Array(json.utf8)).records.count
            if stored < 4 { try await Task.sleep(for: .milliseconds(100)) }
        }
        let dom = try await HeadlessChromium.dom("http://127.0.0.1:\(collector.httpPort)/?since=5m")
        let waste = try #require(dom.range(of: "id=\"healthWaste\"").map { String(dom[$0.upperBound...].prefix(600)) })
        #expect(waste.contains("dig · 10.0.1.2") && waste.contains("1 tries"), "\(waste)")
        #expect(waste.contains(try #require(resolution.dnsSearchFix?.line)), "the fix in a line")
        let tunnels = try #require(
            dom.range(of: "id=\"healthTunnels\"").map { String(dom[$0.upperBound...].prefix(600)) })
        #expect(tunnels.contains("tunnel.test") && tunnels.contains("200 unique subdomains"), "\(tunnels)")
        let drops = try #require(dom.range(of: "id=\"healthDrops\"").map { String(dom[$0.upperBound...].prefix(600)) })
        #expect(drops.contains("dropped: NETFILTER_DROP"), "\(drops)")
        #expect(drops.contains("timed out</span><span class=\"val\">1<"), "one timeout beside it: \(drops)")
        try await HeadlessChromium.screenshot(
            "http://127.0.0.1:\(collector.httpPort)/?since=5m", to: try HeadlessChromium.artifacts("health-panels.png"),
            window: "1280,1100")
    }

    static func browse(_ lab: Lab, _ collector: CollectorProcess) async throws {
        let agent = try await AgentProcess(
            config: AgentProcess.config(exporters: "    - {type: HTTP, http: {url: '\(collector.url)/api/v1/flows'}}"))
        let bursts: (early: [Dig], late: [Dig])
        do {
            bursts = try await burstsOfDigs(lab)
        } catch {
            _ = try? await agent.stop()
            throw error
        }
        let (early, late) = bursts
        let digs = early + late
        #expect(Set(digs.map(\.status)) == ["NOERROR", "NXDOMAIN"])

        // The client's lookups only: the agent sees every namespace on the node, other tests' too.
        let mine = "client=\(lab.clientAddr)"
        var stored: [FlowRecord] = []
        for _ in 0..<200 {
            let json = try sh("curl -sf '\(collector.url)/api/v1/lookups?\(mine)&since=5m&limit=100'")
            stored = try FlowRecordJSON.decodePage(Array(json.utf8)).records
            if stored.count >= digs.count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = try await agent.stop()
        try #require(Set(stored.compactMap(\.dnsId)) == Set(digs.map(\.id)), "every dig is one stored lookup")
        let page = "http://127.0.0.1:\(collector.httpPort)/"

        // The dig id, clicked: its waterfall, one bar per stage (client, router before and after NAT, server).
        let target = early[0]
        let record = try #require(stored.first { $0.dnsId == target.id })
        #expect(record.dnsStages.count == 4, "the lab's DNAT path has four stages")
        let waterfallURL = "\(page)?dnsId=\(target.id)&\(mine)&since=5m#harness=click:tr.lookup"
        let waterfall = try await HeadlessChromium.dom(waterfallURL)
        #expect(waterfall.contains("data-harness=\"done\""), "\(waterfall.suffix(300))")
        #expect(PageDOM.lookupRows(waterfall, "data-dns-id") == ["\(target.id)"])
        #expect(waterfall.components(separatedBy: "<g class=\"stage\"").count - 1 == record.dnsStages.count)
        #expect(waterfall.contains("10.9.9.1") && waterfall.contains("\(Lab.answerTTL) s"), "answer and TTL")
        #expect(waterfall.contains("<b>dig</b>"), "who asked")
        try await HeadlessChromium.screenshot(
            waterfallURL, to: try HeadlessChromium.artifacts("lab-waterfall.png"), window: "1280,1250")

        // Brushing the early burst on the rate chart narrows the table to it.
        let from = early.first!.atMs - 1500
        let until = early.last!.atMs + 2500
        let brushed = try await HeadlessChromium.dom(
            "\(page)?\(mine)&since=2m#harness=brush:rateChart:\(from):\(until)")
        #expect(brushed.contains("data-harness=\"done\""), "\(brushed.suffix(300))")
        #expect(
            Set(PageDOM.lookupRows(brushed, "data-dns-id")) == Set(early.map { "\($0.id)" }), "only the early burst")
        #expect(brushed.contains("data-custom=\"1\""), "the range shows as the selected one")

        // The errors quick filter: NXDOMAIN only.
        let errorsURL = "\(page)?\(mine)&since=5m#harness=click:[data-quick=errors]"
        let errors = try await HeadlessChromium.dom(errorsURL)
        #expect(Set(PageDOM.lookupRows(errors, "data-rcode")) == ["NXDomain"])
        let nxdomains = Set(digs.filter { $0.status == "NXDOMAIN" }.map { "\($0.id)" })
        #expect(Set(PageDOM.lookupRows(errors, "data-dns-id")) == nxdomains)
        try await HeadlessChromium.screenshot(errorsURL, to: try HeadlessChromium.artifacts("lab-errors.png"))
        try await HeadlessChromium.screenshot(
            "\(page)?since=5m", to: try HeadlessChromium.artifacts("lab-page.png"), window: "1280,1100")
    }
}
