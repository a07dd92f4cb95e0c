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

    /// A response from 10.0.0.53:53 to 10.0.0.7:40000, cut after its question as the ring holds it.
    static func record(queryNs: UInt64, ifname: String = "eth0", question: [UInt8] = question) -> [UInt8] {
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
        event.question_len = UInt16(question.count)
        withUnsafeMutableBytes(of: &event.ifname) { $0.copyBytes(from: Array(ifname.utf8)) }
        withUnsafeMutableBytes(of: &event.question) { $0.copyBytes(from: question) }
        let header = MemoryLayout<dns_event>.offset(of: \dns_event.question)!
        return withUnsafeBytes(of: &event) { Array($0.prefix(header + question.count)) }
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
}
