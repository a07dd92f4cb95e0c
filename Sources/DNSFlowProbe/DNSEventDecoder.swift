import CBPF
import DNSFlowCore
import Synchronization

/// Turns one ring buffer record (`struct dns_event` of bpf/dnsflow.h, cut after the message bytes
/// it carries) into the view it reports. Public for the micro-benchmarks (bench/).
public struct DNSEventDecoder: Sendable {
    let interfaceNames: InterfaceNames
    /// The kernel copies answer sections (`ProbeSettings.answers`); off, its events carry only
    /// the question, and no answers are decoded.
    let answers: Bool

    init(interfaceNames: InterfaceNames, answers: Bool = true) {
        self.interfaceNames = interfaceNames
        self.answers = answers
    }

    /// A decoder with no interface names learnt yet (events that carry no name get "if<index>").
    public init(answers: Bool = true) {
        self.init(interfaceNames: InterfaceNames(), answers: answers)
    }

    public func view(of bytes: UnsafeRawBufferPointer) -> DNSView {
        decode(bytes, clock: ClockOffset()).view
    }

    func view(of bytes: UnsafeRawBufferPointer, clock: ClockOffset) -> DNSView {
        decode(bytes, clock: clock).view
    }

    /// The view, and whether the event's answer section failed to decode (the view then has no
    /// answers; the reader counts it).
    func decode(_ bytes: UnsafeRawBufferPointer, clock: ClockOffset) -> (view: DNSView, badAnswerSection: Bool) {
        // Events carry only the bytes read: copy them into a zeroed full-size struct.
        var event = dns_event()
        withUnsafeMutableBytes(of: &event) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix($0.count)))
        }
        let key = event.key
        let server = IPAddress(tuple: key.server_addr, ethType: key.eth_type)
        let client = IPAddress(tuple: key.client_addr, ethType: key.eth_type)
        var view = DNSView(
            outcome: event.query_ns == 0 ? .orphan : .answered(latencyNs: event.response_ns &- event.query_ns),
            key: FlowKey(
                srcAddr: server, dstAddr: client, srcPort: key.server_port, dstPort: key.client_port,
                proto: key.proto, etype: key.eth_type),
            observation: Observation(
                netNs: key.netns,
                interface: interfaceNames.name(netNs: key.netns, ifindex: event.ifindex, kernelName: event.ifname),
                direction: event.direction),
            id: key.id, flags: event.flags,
            question: DNSQuestion(kernelBytes: event.message, length: event.message_len),
            startNs: clock.epochNs(event.query_ns == 0 ? event.response_ns : event.query_ns),
            endNs: clock.epochNs(event.response_ns))
        view.queryBytes = event.query_ip_len
        view.responseBytes = event.ip_len
        view.retransmits = event.retransmits
        view.requester = Requester(kernel: event.requester)
        guard answers, event.ancount > 0 else { return (view, false) }
        let decoded = withUnsafeBytes(of: event.message) { raw in
            Result { () throws(DNSAnswerSection.DecodingError) in
                try DNSAnswerSection.decode(
                    UnsafeRawBufferPointer(rebasing: raw.prefix(Int(event.message_len))),
                    answerCount: Int(event.ancount))
            }
        }
        guard case .success(let section) = decoded else { return (view, true) }
        if section != .none { view.answers = section }
        return (view, false)
    }
}

extension Requester {
    /// Nil where the query left no local socket in the sender's context (pid 0).
    init?(kernel requester: dns_requester) {
        guard requester.pid != 0 else { return nil }
        self.init(pid: requester.pid, comm: String(kernelName: requester.comm), cgroupId: requester.cgroup_id)
    }
}

/// Interface names by (namespace, ifindex). cgroup_skb programs see an ifindex but no device
/// name; the flows seen at the tracepoints name it. Written by the flow-map reader, read by the
/// ring-buffer reader and the query expiry.
final class InterfaceNames: Sendable {
    private struct ID: Hashable {
        var netNs: UInt32
        var ifindex: UInt32
    }

    private let names = Mutex<[ID: String]>([:])

    func learn(netNs: UInt32, ifindex: UInt32, name: String) {
        let id = ID(netNs: netNs, ifindex: ifindex)
        names.withLock { names in
            if names[id] != name { names[id] = name }
        }
    }

    func name<T>(netNs: UInt32, ifindex: UInt32, kernelName: T) -> String {
        let direct = String(kernelName: kernelName)
        if !direct.isEmpty { return direct }
        return names.withLock { $0[ID(netNs: netNs, ifindex: ifindex)] } ?? "if\(ifindex)"
    }
}

extension IPAddress {
    init<T>(tuple: T, ethType: UInt16) {
        self = withUnsafeBytes(of: tuple) { IPAddress(kernelBytes: $0, ipv4: ethType == 0x0800) }
    }
}

extension String {
    /// A NUL-padded C char array from a kernel struct.
    init<T>(kernelName tuple: T) {
        self = withUnsafeBytes(of: tuple) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
    }
}

extension DNSQuestion {
    /// Nil when the question could not be decoded (counted as a bad question by the evictor).
    init?<T>(kernelBytes tuple: T, length: UInt16) {
        guard let question = withUnsafeBytes(of: tuple, { raw in try? DNSQuestion.decode(raw.prefix(Int(length))) })
        else { return nil }
        self = question
    }
}
