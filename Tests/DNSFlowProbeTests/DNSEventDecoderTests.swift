import CBPF
import DNSFlowCore
import Testing

@testable import DNSFlowProbe

@Suite struct DNSEventDecoderTests {
    /// The question of `www.example.com`, type AAAA, class IN, as the kernel copies it.
    static let question: [UInt8] =
        [3] + Array("www".utf8) + [7] + Array("example".utf8) + [3] + Array("com".utf8)
        + [0, 0x00, 0x1c, 0x00, 0x01]
    static let clock = ClockOffset(monotonicNowNs: 5_000_000_000, offsetNs: 1_700_000_000_000_000_000)

    /// A response from 10.0.0.53:53 to 10.0.0.7:40000, cut after its message bytes as the ring
    /// holds it: by default its question, as with answers off.
    static func record(
        queryNs: UInt64, ifname: String = "eth0", question: [UInt8] = question, ancount: UInt16 = 0,
        edit: (inout dns_event) -> Void = { _ in }
    ) -> [UInt8] {
        var event = dns_event()
        let v4Mapped = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
        withUnsafeMutableBytes(of: &event.key.client_addr) { $0.copyBytes(from: v4Mapped + [10, 0, 0, 7]) }
        withUnsafeMutableBytes(of: &event.key.server_addr) { $0.copyBytes(from: v4Mapped + [10, 0, 0, 53]) }
        event.key.netns = 4_026_531_840
        event.key.client_port = 40_000
        event.key.server_port = 53
        event.key.id = 0xbeef
        event.key.eth_type = 0x0800
        event.key.proto = 17
        event.query_ns = queryNs
        event.response_ns = 1_002_500_000
        event.ifindex = 7
        event.flags = 0x8183
        event.direction = 0
        event.message_len = UInt16(question.count)
        event.ancount = ancount
        withUnsafeMutableBytes(of: &event.ifname) { $0.copyBytes(from: Array(ifname.utf8)) }
        withUnsafeMutableBytes(of: &event.message) { $0.copyBytes(from: question) }
        edit(&event)
        let header = MemoryLayout<dns_event>.offset(of: \dns_event.message)!
        let length = header + Int(event.message_len)
        return withUnsafeBytes(of: &event) { Array($0.prefix(length)) }
    }

    @Test("an answered response: server to client, its latency, names and times from the kernel's clock")
    func answered() {
        let bytes = Self.record(queryNs: 1_000_000_000)
        let view = bytes.withUnsafeBytes { DNSEventDecoder().view(of: $0, clock: Self.clock) }
        #expect(view.outcome == .answered(latencyNs: 2_500_000))
        #expect(view.key.srcAddr == IPAddress(ipv4: 10, 0, 0, 53))
        #expect(view.key.dstAddr == IPAddress(ipv4: 10, 0, 0, 7))
        #expect(view.key.srcPort == 53 && view.key.dstPort == 40_000 && view.key.proto == 17)
        #expect(view.observation == Observation(netNs: 4_026_531_840, interface: "eth0", direction: 0))
        #expect(view.id == 0xbeef && view.flags == 0x8183)
        #expect(view.question == DNSQuestion(name: "www.example.com", type: "AAAA"))
        #expect(view.startNs == 1_700_000_001_000_000_000)
        #expect(view.endNs == 1_700_000_001_002_500_000)
    }

    @Test("a response with no query seen is an orphan that starts when it was seen")
    func orphan() {
        let view = Self.record(queryNs: 0).withUnsafeBytes { DNSEventDecoder().view(of: $0, clock: Self.clock) }
        #expect(view.outcome == .orphan)
        #expect(view.startNs == view.endNs)
    }

    @Test("an event without a device name takes the name learnt for its namespace and index, else if<index>")
    func interfaceNames() {
        let names = InterfaceNames()
        let decoder = DNSEventDecoder(interfaceNames: names)
        let bytes = Self.record(queryNs: 1, ifname: "")
        #expect(bytes.withUnsafeBytes { decoder.view(of: $0, clock: Self.clock) }.observation.interface == "if7")
        names.learn(netNs: 4_026_531_840, ifindex: 7, name: "veth-client")
        let named = bytes.withUnsafeBytes { decoder.view(of: $0, clock: Self.clock) }
        #expect(named.observation.interface == "veth-client")
    }

    @Test("a question that does not decode leaves the view without one")
    func badQuestion() {
        let pointer: [UInt8] = [0xc0, 0x0c, 0x00, 0x01]
        let view = Self.record(queryNs: 1, question: pointer).withUnsafeBytes {
            DNSEventDecoder().view(of: $0, clock: Self.clock)
        }
        #expect(view.question == nil)
    }

    /// The question of `www.example.test` A, then one CNAME to `web.example.test` (TTL 300) and
    /// its A 10.9.9.9 (TTL 77), the way dnsmasq writes them.
    static let answered: [UInt8] =
        [3] + Array("www".utf8) + [7] + Array("example".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1]
        + [0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 0x01, 0x2c, 0, 18] + [3] + Array("web".utf8) + [7]
        + Array("example".utf8) + [4] + Array("test".utf8) + [0]
        + [0xc0, 46, 0, 1, 0, 1, 0, 0, 0, 77, 0, 4, 10, 9, 9, 9]

    @Test("the answer section, who asked, the packets' bytes and the retransmissions")
    func transactionDetail() {
        let bytes = Self.record(queryNs: 1, question: Self.answered, ancount: 2) { event in
            event.ip_len = 120
            event.query_ip_len = 62
            event.retransmits = 2
            event.requester.pid = 4242
            event.requester.cgroup_id = 9876
            withUnsafeMutableBytes(of: &event.requester.comm) { $0.copyBytes(from: Array("dig".utf8)) }
        }
        let decoded = bytes.withUnsafeBytes { DNSEventDecoder().decode($0, clock: Self.clock) }
        let view = decoded.view
        #expect(!decoded.badAnswerSection)
        #expect(view.question == DNSQuestion(name: "www.example.test", type: "A"))
        #expect(
            view.answers == DNSAnswers(addresses: [IPAddress(ipv4: 10, 9, 9, 9)], cnames: ["web.example.test"], ttl: 77)
        )
        #expect(view.requester == Requester(pid: 4242, comm: "dig", cgroupId: 9876))
        #expect(view.queryBytes == 62 && view.responseBytes == 120 && view.retransmits == 2)
    }

    @Test("no answers with answers off, for an empty section, and for a section that does not decode (counted)")
    func noAnswers() {
        let off = Self.record(queryNs: 1, question: Self.answered, ancount: 2).withUnsafeBytes {
            DNSEventDecoder(answers: false).decode($0, clock: Self.clock)
        }
        #expect(off.view.answers == nil && !off.badAnswerSection)
        let empty = Self.record(queryNs: 1).withUnsafeBytes { DNSEventDecoder().decode($0, clock: Self.clock) }
        #expect(empty.view.answers == nil && !empty.badAnswerSection)
        #expect(empty.view.requester == nil)
        // The A record's owner points past itself.
        var forward = Self.answered
        forward[forward.count - 15] = 0xff
        let bad = Self.record(queryNs: 1, question: forward, ancount: 2).withUnsafeBytes {
            DNSEventDecoder().decode($0, clock: Self.clock)
        }
        #expect(bad.view.answers == nil && bad.badAnswerSection)
        #expect(bad.view.question != nil)
    }
}
