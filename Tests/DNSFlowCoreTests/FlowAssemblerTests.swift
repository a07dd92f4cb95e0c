import DNSFlowCore
import Testing

struct FlowAssemblerTests {
    let client = IPAddress(ipv4: 10, 0, 0, 2)
    let server = IPAddress(ipv4: 10, 0, 0, 53)
    var query: FlowKey {
        FlowKey(srcAddr: client, dstAddr: server, srcPort: 40000, dstPort: 53, proto: 17, etype: 0x0800)
    }
    let assembler = FlowAssembler(nodeName: "node-a")

    private func flow(_ key: FlowKey, bytes: UInt64 = 100, packets: UInt64 = 2) -> FlowSample {
        FlowSample(
            key: key, bytes: bytes, packets: packets, startNs: 1_000_000_000, endNs: 2_000_000_000, tcpFlags: 0,
            observations: [
                Observation(netNs: 1, interface: "eth0", direction: 1),
                Observation(netNs: 2, interface: "veth0", direction: 0),
            ])
    }

    private func view(
        _ id: UInt16, _ outcome: DNSView.Outcome, netNs: UInt32 = 1, end: Int64 = 1_500_000_000
    ) -> DNSView {
        DNSView(
            outcome: outcome, key: outcome == .timedOut ? query : query.reversed,
            observation: Observation(netNs: netNs, interface: "eth0", direction: 0), id: id,
            flags: outcome == .timedOut ? 0x0100 : 0x8183, question: DNSQuestion(name: "x.example.test", type: .a),
            startNs: 1_000_000_000, endNs: end)
    }

    @Test func plainFlow() {
        let records = assembler.records(flows: [flow(query)], views: [])
        #expect(records.count == 1)
        #expect(records[0].srcAddr == "10.0.0.2" && records[0].dstPort == 53)
        #expect(records[0].interfaces == ["eth0", "veth0"] && records[0].ifDirections == [1, 0])
        #expect(records[0].netNs == 1 && records[0].nodeName == "node-a")
        #expect(records[0].timeFlowStartMs == 1000 && records[0].timeFlowEndMs == 2000)
        #expect(!records[0].isDNS)
    }

    @Test func everyTransactionOnOneFiveTupleComesOut() {
        let views = [view(1, .answered(latencyNs: 213_456)), view(2, .answered(latencyNs: 1_000), end: 1_600_000_000)]
        let records = assembler.records(flows: [flow(query), flow(query.reversed)], views: views)
        let responses = records.filter { $0.srcAddr == "10.0.0.53" }
        #expect(responses.map(\.dnsId) == [1, 2])
        #expect(responses.map(\.dnsLatencyMs) == [0.213, 0.001])
        #expect(responses.map(\.dnsFlagsResponseCode) == ["NXDomain", "NXDomain"])
        // Counters once: the first record carries them, the rest zero.
        #expect(responses.map(\.bytes) == [100, 0] && responses.map(\.packets) == [2, 0])
        let queries = records.filter { $0.srcAddr == "10.0.0.2" }
        #expect(queries.map(\.dnsId) == [1, 2])
        #expect(queries.allSatisfy { $0.dnsName == "x.example.test" && $0.dnsLatencyMs == nil })
    }

    @Test func viewsWithoutTheirFlowsKeepBothSides() {
        let records = assembler.records(views: [view(3, .answered(latencyNs: 250_000)), view(4, .timedOut)])
        // The answered view: its response's record with the latency, its query's with id and name.
        let three = records.filter { $0.dnsId == 3 }
        #expect(three.count == 2)
        let response = three.first { $0.srcAddr == "10.0.0.53" }
        #expect(
            response?.dnsLatencyMs == 0.25 && response?.dnsFlagsResponseCode == "NXDomain" && response?.srcPort == 53)
        let query = three.first { $0.srcAddr == "10.0.0.2" }
        #expect(query?.dnsName == "x.example.test" && query?.dnsLatencyMs == nil && query?.dstPort == 53)
        // The timeout: its query's record only. Counters zero everywhere: the flows carry them.
        #expect(records.filter { $0.dnsId == 4 }.map(\.dnsErrno) == [DNSErrno.timedOut])
        #expect(records.allSatisfy { $0.bytes == 0 && $0.packets == 0 && $0.netNs == 1 })
    }

    @Test func oneViewPerNamespace() {
        let views = [
            view(7, .answered(latencyNs: 500_000), netNs: 1), view(7, .answered(latencyNs: 300_000), netNs: 2),
        ]
        let records = assembler.records(flows: [flow(query.reversed)], views: views)
        #expect(records.count == 2)
        #expect(Set(records.map(\.netNs)) == [1, 2])
    }

    @Test func timeoutAndOrphanStandAlone() {
        let records = assembler.records(flows: [], views: [view(9, .timedOut), view(10, .orphan)])
        let timeout = records.first { $0.dnsId == 9 }
        #expect(timeout?.dnsErrno == DNSErrno.timedOut && timeout?.dnsLatencyMs == nil)
        #expect(timeout?.srcAddr == "10.0.0.2" && timeout?.bytes == 0)
        #expect(timeout?.dnsFlagsResponseCode == nil)
        let orphan = records.first { $0.dnsId == 10 }
        #expect(orphan?.dnsErrno == DNSErrno.noQuery && orphan?.dnsLatencyMs == nil)
        #expect(orphan?.dnsFlagsResponseCode == "NXDomain" && orphan?.srcAddr == "10.0.0.53")
    }
}
