import CBPF

/// What the running kernel offers among the features that decide which programs load.
struct KernelFeatures: Hashable, Sendable {
    /// BTF-enabled raw tracepoints (`tp_btf`, Linux 5.5) for both hooks.
    var btfTracepoints: Bool
    /// BPF compare-and-swap (Linux 5.12), which the pending-query slots take.
    var compareAndSwap: Bool
    /// `bpf_skc_to_tcp_sock` at `cgroup_skb` (Linux 5.9), through which DNS over TCP is read.
    var tcpSocketHelper: Bool
    /// `tp_btf/kfree_skb` with its drop reason (Linux 5.17), which PacketDrop loads.
    var dropReasons: Bool = false

    /// Loads a tiny program for each feature, as libbpf-tools' runqslower probes `tp_btf`.
    static func probe() -> KernelFeatures {
        // Both hooks in one call: the kernel's BTF is parsed once.
        let btfTracepoints =
            "net_dev_queue".withCString { egress in
                "netif_receive_skb".withCString { ingress in
                    [Optional(egress), Optional(ingress)].withUnsafeBufferPointer {
                        dnsflow_probe_tp_btf($0.baseAddress, 2)
                    }
                }
            } == 1
        return KernelFeatures(
            btfTracepoints: btfTracepoints,
            compareAndSwap: dnsflow_probe_cmpxchg() == 1,
            tcpSocketHelper: libbpf_probe_bpf_helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_FUNC_skc_to_tcp_sock, nil) == 1,
            dropReasons: dnsflow_probe_drop_reasons() == 1)
    }
}
