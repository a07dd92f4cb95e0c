import CBPF
import DNSFlowCore

#if canImport(Glibc)
    import Glibc
#endif

/// Empties the kernel's `flows` map into samples, learning interface names on the way.
struct FlowMapReader {
    private static let batchSize = 4096
    let mapFD: Int32
    let interfaceNames: InterfaceNames

    /// Removes every flow from the kernel map, in batches, and returns them.
    func evict() throws(ProbeError) -> [FlowSample] {
        var keys = [flow_key](repeating: flow_key(), count: Self.batchSize)
        var values = [flow_stats](repeating: flow_stats(), count: Self.batchSize)
        var inBatch: UInt32 = 0
        var outBatch: UInt32 = 0
        var first = true
        var samples: [FlowSample] = []
        let clock = ClockOffset()
        var opts = bpf_map_batch_opts()
        opts.sz = MemoryLayout<bpf_map_batch_opts>.size
        while true {
            var count = UInt32(Self.batchSize)
            let err =
                first
                ? bpf_map_lookup_and_delete_batch(mapFD, nil, &outBatch, &keys, &values, &count, &opts)
                : bpf_map_lookup_and_delete_batch(mapFD, &inBatch, &outBatch, &keys, &values, &count, &opts)
            for i in 0..<Int(count) { samples.append(sample(keys[i], values[i], clock)) }
            if err == -ENOENT { break }
            guard err == 0 else { throw .evictingFlows(errno: err) }
            inBatch = outBatch
            first = false
        }
        return samples
    }

    private func sample(_ key: flow_key, _ stats: flow_stats, _ clock: ClockOffset) -> FlowSample {
        let count = min(Int(stats.n_observations), Int(DNSFLOW_MAX_OBSERVATIONS))
        let observations = withUnsafeBytes(of: stats.observations) { raw in
            raw.bindMemory(to: flow_observation.self).prefix(count).map { o in
                let name = String(kernelName: o.ifname)
                interfaceNames.learn(netNs: o.netns, ifindex: o.ifindex, name: name)
                return Observation(netNs: o.netns, interface: name, direction: o.direction)
            }
        }
        return FlowSample(
            key: FlowKey(
                srcAddr: IPAddress(tuple: key.src_addr, ethType: key.eth_type),
                dstAddr: IPAddress(tuple: key.dst_addr, ethType: key.eth_type),
                srcPort: key.src_port, dstPort: key.dst_port, proto: key.proto, etype: key.eth_type),
            bytes: stats.bytes, packets: stats.packets,
            startNs: clock.epochNs(stats.first_seen_ns), endNs: clock.epochNs(stats.last_seen_ns),
            tcpFlags: stats.tcp_flags, observations: observations)
    }
}
