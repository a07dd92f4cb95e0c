import CBPF
import DNSFlowCore
import Synchronization

/// Turns one ring buffer record (`struct dns_event` of bpf/dnsflow.h, cut after its question) into
/// the view it reports. Public for the micro-benchmarks (bench/).
public struct DNSEventDecoder: Sendable {
    let interfaceNames: InterfaceNames

    init(interfaceNames: InterfaceNames) {
        self.interfaceNames = interfaceNames
    }

    /// A decoder with no interface names learnt yet (events that carry no name get "if<index>").
    public init() {
        self.init(interfaceNames: InterfaceNames())
    }

    public func view(of bytes: UnsafeRawBufferPointer) -> DNSView {
        view(of: bytes, clock: ClockOffset())
    }

    func view(of bytes: UnsafeRawBufferPointer, clock: ClockOffset) -> DNSView {
        // Events carry only the question's bytes: copy them into a zeroed full-size struct.
        var event = dns_event()
        withUnsafeMutableBytes(of: &event) {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix($0.count)))
        }
        let key = event.key
        let server = IPAddress(tuple: key.server_addr, ethType: key.eth_type)
        let client = IPAddress(tuple: key.client_addr, ethType: key.eth_type)
        return DNSView(
            outcome: event.query_ns == 0 ? .orphan : .answered(latencyNs: event.response_ns &- event.query_ns),
            key: FlowKey(
                srcAddr: server, dstAddr: client, srcPort: key.server_port, dstPort: key.client_port,
                proto: key.proto, etype: key.eth_type),
            observation: Observation(
                netNs: key.netns,
                interface: interfaceNames.name(netNs: key.netns, ifindex: event.ifindex, kernelName: event.ifname),
                direction: event.direction),
            id: key.id, flags: event.flags,
            question: DNSQuestion(kernelBytes: event.question, length: event.question_len),
            startNs: clock.epochNs(event.query_ns == 0 ? event.response_ns : event.query_ns),
            endNs: clock.epochNs(event.response_ns))
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
