// One eviction window as the kernel hands it to the agent: raw DNS events in ring-buffer layout,
// and the flows they belong to.
import CBPF
import DNSFlowCore

/// Transactions between one resolver and `sockets` client sockets of one pod, each transaction
/// seen in two namespaces (the client's and the server's, as in the agent benchmark's lab):
/// `events` ring records make `events / 2` transactions.
struct DNSWindow {
    static let client = IPAddress(ipv4: 10, 244, 1, 5)
    static let server = IPAddress(ipv4: 10, 96, 0, 10)
    static let clientNetNs: UInt32 = 4_026_532_100
    static let serverNetNs: UInt32 = 4_026_532_200
    /// Where `message` starts in `struct dns_event`: the kernel sends this much, then the message.
    static let eventHeaderLength = MemoryLayout<dns_event>.offset(of: \dns_event.message)!

    /// Ring records back to back, each at an 8-byte boundary as `bpf_ringbuf_output` places them.
    let ring: [UInt8]
    let records: [Range<Int>]
    /// Both directions of each socket's conversation: 2 × `sockets` flows.
    let flows: [FlowSample]

    init(events: Int, sockets: Int) {
        var ring: [UInt8] = []
        var records: [Range<Int>] = []
        for index in 0..<events {
            let event = Self.event(transaction: index / 2, inServer: index % 2 == 1, sockets: sockets)
            records.append(ring.count..<ring.count + event.count)
            ring += event
            ring += [UInt8](repeating: 0, count: (8 - ring.count % 8) % 8)
        }
        self.ring = ring
        self.records = records
        let perSocket = UInt64(events / 2 / sockets)
        flows = (0..<sockets).flatMap { socket in
            let query = FlowKey(
                srcAddr: Self.client, dstAddr: Self.server, srcPort: Self.port(socket), dstPort: 53, proto: 17,
                etype: 0x0800)
            return [
                FlowSample(
                    key: query, bytes: perSocket * 64, packets: perSocket, startNs: 1_763_812_800_000_000_000,
                    endNs: 1_763_812_805_000_000_000, tcpFlags: 0, observations: Self.queryPath),
                FlowSample(
                    key: query.reversed, bytes: perSocket * 80, packets: perSocket, startNs: 1_763_812_800_000_200_000,
                    endNs: 1_763_812_805_000_200_000, tcpFlags: 0, observations: Self.responsePath),
            ]
        }
    }

    /// A query leaves the client pod's eth0 (egress) and arrives on the server pod's; the response
    /// goes back the other way.
    static let queryPath = [
        Observation(netNs: clientNetNs, interface: "eth0", direction: 1),
        Observation(netNs: serverNetNs, interface: "eth0", direction: 0),
    ]
    static let responsePath = [
        Observation(netNs: serverNetNs, interface: "eth0", direction: 1),
        Observation(netNs: clientNetNs, interface: "eth0", direction: 0),
    ]

    /// Calls `body` with the ring records at `indices`, as libbpf's ring-buffer callback receives them.
    func forEachRecord(_ indices: Range<Int>, _ body: (UnsafeRawBufferPointer) -> Void) {
        ring.withUnsafeBytes { raw in
            for range in records[indices] { body(UnsafeRawBufferPointer(rebasing: raw[range])) }
        }
    }

    private static func port(_ socket: Int) -> UInt16 { UInt16(30_000 + socket) }

    /// What the kernel copies after a response's 12-byte header: the question
    /// (`name<n>.zone.test`, type A, class IN), then one A answer whose name points to it.
    private static func responseBody(transaction: Int) -> [UInt8] {
        var body: [UInt8] = []
        for label in ["name\(transaction % 10_000)", "zone", "test"] {
            body.append(UInt8(label.utf8.count))
            body += label.utf8
        }
        body += [0, 0, 1, 0, 1]  // the root label, type A, class IN
        // The answer: a pointer to the question's name (offset 12), A, IN, TTL 60, a 4-byte address.
        body += [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]
        body += [10, 244, UInt8(transaction % 200), UInt8(transaction % 250 + 1)]
        return body
    }

    /// One ring record: a response's first sighting in a namespace, cut after `message_len`.
    private static func event(transaction: Int, inServer: Bool, sockets: Int) -> [UInt8] {
        var event = dns_event()
        withUnsafeMutableBytes(of: &event.key.client_addr) { $0.copyBytes(from: v4Mapped(client)) }
        withUnsafeMutableBytes(of: &event.key.server_addr) { $0.copyBytes(from: v4Mapped(server)) }
        event.key.netns = inServer ? serverNetNs : clientNetNs
        event.key.client_port = port(transaction % sockets)
        event.key.server_port = 53
        event.key.id = UInt16(truncatingIfNeeded: transaction)
        event.key.eth_type = 0x0800
        event.key.proto = 17
        // 50 µs between transactions; the server sees the query 20 µs after the client sent it and
        // answers in 150 µs; the client waits 200 to 299 µs.
        let queryNs = 1_000_000_000 + transaction * 50_000 + (inServer ? 20_000 : 0)
        event.query_ns = UInt64(queryNs)
        event.response_ns = UInt64(queryNs + (inServer ? 150_000 : 200_000 + transaction % 100 * 1_000))
        event.ifindex = inServer ? 2 : 3
        event.flags = 0x8180  // a NoError response: QR, RD, RA
        // The IP lengths the window's flows count per packet: the lookups take all their bytes.
        event.query_ip_len = 64
        event.ip_len = 80
        event.direction = inServer ? 1 : 0
        withUnsafeMutableBytes(of: &event.ifname) { $0.copyBytes(from: "eth0".utf8) }
        let body = responseBody(transaction: transaction)
        event.bytes = UInt16(12 + body.count)
        event.message_len = UInt16(body.count)
        event.ancount = 1
        withUnsafeMutableBytes(of: &event.message) { $0.copyBytes(from: body) }
        return withUnsafeBytes(of: &event) { Array($0.prefix(eventHeaderLength + body.count)) }
    }

    private static func v4Mapped(_ address: IPAddress) -> [UInt8] {
        guard case .v4(let bits) = address else { preconditionFailure("the window is IPv4") }
        return [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + withUnsafeBytes(of: bits.bigEndian) { Array($0) }
    }
}
