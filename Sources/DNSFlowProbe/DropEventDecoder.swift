import CBPF
import DNSFlowCore
import Synchronization

/// The names of the kernel's `enum skb_drop_reason`, read from its BTF: the values change between kernels
/// (and subsystems add their own), so they are never compiled in.
struct DropReasonNames: Sendable {
    private static let prefix = "SKB_DROP_REASON_"
    private let names: [UInt32: String]

    /// The running kernel's; empty where its BTF has no such enum (then a drop is named by its number).
    init() {
        guard let vmlinux = btf__load_vmlinux_btf() else {
            self.init(names: [:])
            return
        }
        defer { btf__free(vmlinux) }
        let id = btf__find_by_name_kind(vmlinux, "skb_drop_reason", UInt32(BTF_KIND_ENUM))
        guard id > 0, let type = btf__type_by_id(vmlinux, UInt32(id)) else {
            self.init(names: [:])
            return
        }
        var names: [UInt32: String] = [:]
        for value in UnsafeBufferPointer(start: btf_enum(type), count: Int(btf_vlen(type))) {
            guard let name = btf__name_by_offset(vmlinux, value.name_off) else { continue }
            names[UInt32(bitPattern: value.val)] = String(cString: name)
        }
        self.init(names: names)
    }

    /// `names` by value, with or without the enum's `SKB_DROP_REASON_` prefix.
    init(names: [UInt32: String]) {
        self.names = names.mapValues { $0.hasPrefix(Self.prefix) ? String($0.dropFirst(Self.prefix.count)) : $0 }
    }

    func name(_ reason: UInt32) -> String { names[reason] ?? "reason_\(reason)" }
}

/// Turns one `dns_drops` record (`struct dns_drop_event` of bpf/dnsflow.h) into the drop it reports.
struct DropEventDecoder: Sendable {
    let reasons: DropReasonNames

    func drop(of bytes: UnsafeRawBufferPointer, clock: ClockOffset) -> DNSDrop? {
        guard bytes.count >= MemoryLayout<dns_drop_event>.size else { return nil }
        let event = bytes.loadUnaligned(as: dns_drop_event.self)
        let key = event.key
        return DNSDrop(
            clientAddr: IPAddress(tuple: key.client_addr, ethType: key.eth_type),
            serverAddr: IPAddress(tuple: key.server_addr, ethType: key.eth_type), clientPort: key.client_port,
            serverPort: key.server_port, id: event.has_id != 0 ? key.id : nil, proto: key.proto, netNs: key.netns,
            response: event.response != 0, reason: reasons.name(event.reason),
            timeMs: clock.epochNs(event.drop_ns) / 1_000_000)
    }
}

/// The drops decoded and not taken yet. Bounded: past `capacity` the newest are dropped and counted.
final class DecodedDrops: Sendable {
    private let capacity: Int
    private let state = Mutex<(drops: [DNSDrop], lost: Int)>(([], 0))

    init(capacity: Int = 1 << 14) {
        self.capacity = capacity
    }

    func append(_ drop: DNSDrop) {
        state.withLock { state in
            if state.drops.count < capacity { state.drops.append(drop) } else { state.lost += 1 }
        }
    }

    func take() -> [DNSDrop] {
        state.withLock { state in
            var taken: [DNSDrop] = []
            swap(&taken, &state.drops)
            return taken
        }
    }

    /// Drops lost because the evictor fell behind.
    var lost: Int { state.withLock { $0.lost } }
}
