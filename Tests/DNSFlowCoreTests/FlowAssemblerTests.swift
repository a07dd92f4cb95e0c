import DNSFlowCore
import Testing

struct FlowAssemblerTests {
    static let client = IPAddress(ipv4: 10, 0, 0, 2)
    static let service = IPAddress(ipv4: 10, 96, 0, 10)
    static let server = IPAddress(ipv4: 10, 0, 0, 53)
    let assembler = FlowAssembler(nodeName: "node-a")

    /// The client's query to `server`, from port 40000.
    static func query(to server: IPAddress = server, proto: UInt8 = 17) -> FlowKey {
        FlowKey(srcAddr: client, dstAddr: server, srcPort: 40000, dstPort: 53, proto: proto, etype: 0x0800)
    }

    private func flow(
        _ key: FlowKey, bytes: UInt64 = 70, packets: UInt64 = 1, observations: [Observation]? = nil
    ) -> FlowSample {
        FlowSample(
            key: key, bytes: bytes, packets: packets, startNs: 1_000_000_000, endNs: 2_000_000_000, tcpFlags: 0,
            observations: observations ?? [
                Observation(netNs: 1, interface: "veth-c", direction: 1),
                Observation(netNs: 2, interface: "veth-s", direction: 0),
            ])
    }

    /// One namespace's view of the transaction `id`: the query at `start` ns, answered `latency` ns later.
    static func view(
        _ id: UInt16, _ outcome: DNSView.Outcome, netNs: UInt32 = 1, server: IPAddress = server,
        start: Int64 = 1_000_000_000, proto: UInt8 = 17
    ) -> DNSView {
        let query = query(to: server, proto: proto)
        var end = start + 5_000_000_000
        if case .answered(let latency) = outcome { end = start + Int64(latency) }
        if outcome == .orphan { end = start }
        var view = DNSView(
            outcome: outcome, key: outcome == .timedOut ? query : query.reversed,
            observation: Observation(netNs: netNs, interface: "eth\(netNs)", direction: 0), id: id,
            flags: outcome == .timedOut ? 0x0100 : 0x8180, question: DNSQuestion(name: "x.example.test", type: .a),
            startNs: start, endNs: end)
        view.queryBytes = 70
        view.responseBytes = 86
        return view
    }

    private func join(_ views: [DNSView]) -> [DNSTransaction] {
        var joiner = StageJoiner()
        return joiner.join(views, nowNs: nil)
    }

    @Test func plainFlow() {
        let records = assembler.records(flows: [flow(Self.query())], transactions: [])
        #expect(records.count == 1)
        #expect(records[0].recordType == .flow && !records[0].isDNS)
        #expect(records[0].srcAddr == "10.0.0.2" && records[0].dstPort == 53)
        #expect(records[0].interfaces == ["veth-c", "veth-s"] && records[0].ifDirections == [1, 0])
        #expect(records[0].netNs == 1 && records[0].nodeName == "node-a")
        #expect(records[0].timeFlowStartMs == 1000 && records[0].timeFlowEndMs == 2000)
    }

    @Test func aLookupAcrossTwoNamespacesIsOneRecordWithTwoStages() throws {
        let views = [
            Self.view(7, .answered(latencyNs: 450_400), netNs: 2, start: 1_000_100_000),
            Self.view(7, .answered(latencyNs: 700_900), netNs: 1),
        ]
        let flows = [flow(Self.query(), bytes: 70), flow(Self.query().reversed, bytes: 86)]
        let records = assembler.records(flows: flows, transactions: join(views))
        #expect(records.count == 1, "the DNS flows' packets are all the transaction's: no flow record")
        let record = try #require(records.first)
        #expect(record.recordType == .dnsTransaction && record.dnsId == 7)
        #expect(record.srcAddr == Self.client && record.srcPort == 40000 && record.dstAddr == Self.server)
        #expect(record.xlatDstAddr == nil)
        #expect(record.dnsStages.map(\.netNs) == [1, 2])
        #expect(record.dnsStages.map(\.latencyNs) == [700_000, 450_000])
        #expect(record.dnsLatencyNs == 700_000 && record.netNs == 1)
        #expect(record.bytes == 70 + 86 && record.packets == 2)
        #expect(record.interfaces == ["veth-c", "veth-s"])
        #expect(record.dnsFlagsResponseCode == .noError && record.dnsErrno == 0)
        #expect(record.dnsName == "x.example.test" && record.dnsQType == .a)
    }

    @Test func aTranslatingRouterAddsTwoStagesAndTheTranslatedServer() throws {
        let views = [
            Self.view(9, .answered(latencyNs: 713_000), netNs: 1, server: Self.service),
            Self.view(9, .answered(latencyNs: 698_000), netNs: 3, server: Self.service, start: 1_000_010_000),
            Self.view(9, .answered(latencyNs: 483_000), netNs: 3, start: 1_000_120_000),
            Self.view(9, .answered(latencyNs: 469_000), netNs: 2, start: 1_000_130_000),
        ]
        let records = assembler.records(flows: [], transactions: join(views))
        let record = try #require(records.first)
        #expect(records.count == 1)
        #expect(record.dstAddr == Self.service && record.xlatDstAddr == Self.server && record.xlatDstPort == 53)
        #expect(record.dnsStages.map(\.netNs) == [1, 3, 3, 2])
        #expect(record.dnsStages.map(\.serverAddr) == [Self.service, Self.service, Self.server, Self.server])
        #expect(record.dnsStages.map(\.latencyNs) == [713_000, 698_000, 483_000, 469_000])
    }

    @Test func aFlowKeepsThePacketsThatAreNotItsTransactions() throws {
        // DNS over TCP: the handshake and the ACKs are the flow's, the messages the transaction's.
        let views = [Self.view(3, .answered(latencyNs: 1_000_000), proto: 6)]
        let flows = [flow(Self.query(proto: 6), bytes: 300, packets: 5), flow(Self.query(proto: 6).reversed)]
        let records = assembler.records(flows: flows, transactions: join(views))
        #expect(records.map(\.recordType) == [.dnsTransaction, .flow])
        #expect(records[1].srcAddr == Self.client && records[1].bytes == 230 && records[1].packets == 4)
        #expect(records.reduce(0) { $0 + $1.packets } == 6)
    }

    @Test func everyTransactionOnOneSocketIsItsOwnRecord() {
        let views = (0..<3).map {
            Self.view(UInt16($0), .answered(latencyNs: 100_000), start: 1_000_000_000 + Int64($0))
        }
        let records = assembler.records(
            flows: [flow(Self.query(), bytes: 210, packets: 3), flow(Self.query().reversed, bytes: 258, packets: 3)],
            transactions: join(views))
        #expect(records.map(\.dnsId) == [0, 1, 2])
        #expect(records.allSatisfy { $0.bytes == 156 && $0.packets == 2 })
    }

    @Test func retransmissionsCountAsTheTransactionsPackets() throws {
        var view = Self.view(4, .answered(latencyNs: 2_000_000_000))
        view.retransmits = 2
        let record = try #require(assembler.records(flows: [], transactions: join([view])).first)
        #expect(record.dnsRetransmits == 2 && record.packets == 4 && record.bytes == 3 * 70 + 86)
    }

    @Test func aTimeoutHasErrno110AndTheStagesThatSawTheQuery() throws {
        let views = [Self.view(5, .timedOut, netNs: 1), Self.view(5, .timedOut, netNs: 3, start: 1_000_010_000)]
        let record = try #require(assembler.records(flows: [], transactions: join(views)).first)
        #expect(record.dnsErrno == DNSErrno.timedOut && record.dnsLatencyNs == nil)
        #expect(record.dnsFlagsResponseCode == nil)
        #expect(record.dnsStages.map(\.netNs) == [1, 3] && record.dnsStages.allSatisfy { $0.latencyNs == nil })
        #expect(record.packets == 1 && record.bytes == 70)
    }

    @Test func anOrphanResponseHasErrno2() throws {
        let record = try #require(assembler.records(flows: [], transactions: join([Self.view(6, .orphan)])).first)
        #expect(record.dnsErrno == DNSErrno.noQuery && record.dnsFlagsResponseCode == .noError)
        #expect(record.packets == 1 && record.bytes == 86)
    }

    @Test func whatItAnsweredAndWhoAskedComeFromTheViewsThatHaveThem() throws {
        var client = Self.view(8, .answered(latencyNs: 500_000))
        client.requester = Requester(pid: 4242, comm: "dig", cgroupId: 77)
        var server = Self.view(8, .answered(latencyNs: 300_000), netNs: 2, start: 1_000_100_000)
        server.answers = DNSAnswers(addresses: [IPAddress(ipv4: 10, 9, 9, 9)], cnames: ["web.example.test"], ttl: 60)
        let record = try #require(assembler.records(flows: [], transactions: join([server, client])).first)
        #expect(record.requester?.comm == "dig" && record.requester?.pid == 4242)
        #expect(record.dnsAnswers?.addresses == [IPAddress(ipv4: 10, 9, 9, 9)] && record.dnsAnswers?.ttl == 60)
    }

    @Test func transactionsWithoutTheirFlowsHaveZeroCounters() {
        let records = assembler.records(transactions: join([Self.view(1, .answered(latencyNs: 250_000))]))
        #expect(records.count == 1 && records[0].bytes == 0 && records[0].packets == 0)
        #expect(records[0].dnsLatencyNs == 250_000)
    }
}
