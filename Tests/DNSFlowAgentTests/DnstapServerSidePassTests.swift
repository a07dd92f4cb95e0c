import DNSFlowCore
import Prometheus
import Testing

@testable import DNSFlowAgent

struct DnstapServerSidePassTests {
    static let base: Int64 = 1_700_000_000_000_000_000

    /// The client 10.0.0.2:40000's lookup with `id`, `at` ns after the base, as a transaction and as its record.
    static func lookup(_ id: UInt16, at: Int64 = 0) -> (DNSTransaction, FlowRecord) {
        let response = FlowKey(
            srcAddr: "10.0.0.53", dstAddr: "10.0.0.2", srcPort: 53, dstPort: 40_000, proto: 17, etype: 0x0800)
        let view = DNSView(
            outcome: .answered(latencyNs: 100_000), key: response,
            observation: Observation(netNs: 1, interface: "eth0", direction: 0), id: id, flags: 0x8180,
            question: DNSQuestion(name: "a.example.test", type: .a), startNs: base + at, endNs: base + at + 100_000)
        let transaction = DNSTransaction(stages: [view])
        return (transaction, FlowAssembler(nodeName: "n").records(transactions: [transaction])[0])
    }

    static func events(_ id: UInt16) -> [DnstapEvent] {
        [DnstapEvent.Kind.clientQuery, .clientResponse].enumerated().map { offset, kind in
            DnstapEvent(
                kind: kind, sender: 1, proto: 17, queryAddr: "10.0.0.2", queryPort: 40_000, responseAddr: "10.0.0.53",
                responsePort: 53, id: id, question: DNSQuestion(name: "a.example.test", type: .a),
                timeNs: base + Int64(offset) * 100_000)
        }
    }

    @Test func aRecordWaitsOneWindowForItsMessagesAndGoesOutJoined() {
        let inbox = DnstapInbox(capacity: 100, registry: PrometheusCollectorRegistry())
        let pass = ServerSidePass(inbox: inbox)
        let (transaction, record) = Self.lookup(7)
        var first = [record]
        pass.annotate(&first, transactions: [transaction], nowNs: 0)
        #expect(first.isEmpty, "no message named it yet: it waits")
        inbox.offer(Self.events(7), frames: 2, badFrames: 0)
        var second: [FlowRecord] = []
        pass.annotate(&second, transactions: [], nowNs: 0)
        #expect(second.count == 1 && second[0].dnsId == 7)
        #expect(second[0].dnsServerSource == .dnstap && second[0].dnsCacheHit == true)
    }

    @Test func aRecordItsMessagesNamedGoesOutAtOnceAndTheLastWindowHoldsNothing() {
        let inbox = DnstapInbox(capacity: 100, registry: PrometheusCollectorRegistry())
        let pass = ServerSidePass(inbox: inbox)
        let (joined, joinedRecord) = Self.lookup(7)
        inbox.offer(Self.events(7), frames: 2, badFrames: 0)
        var now = [joinedRecord]
        pass.annotate(&now, transactions: [joined], nowNs: 0)
        #expect(now.map(\.dnsServerSource) == [.dnstap])
        let (unnamed, unnamedRecord) = Self.lookup(8, at: 1_000_000_000)
        var last = [unnamedRecord]
        pass.annotate(&last, transactions: [unnamed], final: true, nowNs: 0)
        #expect(last.map(\.dnsId) == [8] && last[0].dnsServerSource == nil)
    }

    @Test func aLocalClientGetsOneJoinedRecordNeverTwo() {
        let inbox = DnstapInbox(capacity: 100, registry: PrometheusCollectorRegistry())
        let pass = ServerSidePass(inbox: inbox, joinWindow: .seconds(10))
        let (transaction, record) = Self.lookup(7)
        inbox.offer(Self.events(7), frames: 2, badFrames: 0)
        var out: [FlowRecord] = []
        for (second, transactions) in [(0, [transaction]), (11, []), (22, [])] {
            var window = transactions.isEmpty ? [] : [record]
            pass.annotate(&window, transactions: transactions, nowNs: Int64(second) * 1_000_000_000)
            out += window
        }
        var last: [FlowRecord] = []
        pass.annotate(&last, transactions: [], final: true, nowNs: 30_000_000_000)
        out += last
        #expect(out.map(\.dnsId) == [7] && out[0].dnsServerSource == .dnstap && !out[0].isDnstapOnly)
    }

    @Test func aLookupWhosePacketsAreNotExportedGoesOutFromDnstapAfterTheWindow() {
        let registry = PrometheusCollectorRegistry()
        let inbox = DnstapInbox(capacity: 100, registry: registry)
        let pass = ServerSidePass(inbox: inbox, nodeName: "n", joinWindow: .seconds(10), registry: registry)
        let (transaction, record) = Self.lookup(7)
        inbox.offer(Self.events(7) + [Self.events(9)[0]], frames: 3, badFrames: 0)
        var first = [record]
        pass.annotate(&first, transactions: [transaction], nowNs: 0, exported: { _ in false })
        #expect(first.count == 1 && first[0].dnsServerSource == nil, "out to be filtered, not held, not joined")
        var early: [FlowRecord] = []
        pass.annotate(&early, transactions: [], nowNs: 9_000_000_000)
        #expect(early.isEmpty)
        var late: [FlowRecord] = []
        pass.annotate(&late, transactions: [], nowNs: 11_000_000_000)
        #expect(late.map(\.dnsId) == [7] && late[0].isDnstapOnly && late[0].nodeName == "n")
        var text: [UInt8] = []
        registry.emit(into: &text)
        #expect(String(decoding: text, as: UTF8.self).contains("dnsflow_dnstap_lookups_unanswered_total 1"))
    }

    @Test func aFullInboxDropsAndCounts() {
        let registry = PrometheusCollectorRegistry()
        let inbox = DnstapInbox(capacity: 1, registry: registry)
        inbox.offer(Self.events(7), frames: 2, badFrames: 0)
        #expect(inbox.take().count == 1)
        var text: [UInt8] = []
        registry.emit(into: &text)
        #expect(String(decoding: text, as: UTF8.self).contains("dnsflow_dnstap_frames_dropped_total 1"))
    }
}
