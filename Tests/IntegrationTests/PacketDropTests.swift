import DNSFlowCore
import Foundation
import Testing

/// PacketDrop on the real kernel: `tp_btf/kfree_skb` follows DNS packets' drops, with nftables and glibc.
@Suite("Packet drops", .serialized)
struct PacketDropTests {
    static func config(port: Int) -> String {
        AgentProcess.config(extra: "    metrics: {port: \(port)}", features: "DNSTracking, DNSHealth, PacketDrop")
    }

    static func drops(_ port: Int) -> [String: Double] {
        ReliabilityTests.metrics(port, "dnsflow_dns_packet_drops_total")
    }

    /// Polls (bounded) until `condition` holds for the drop counters; returns the last values.
    static func waitForDrops(_ port: Int, until condition: ([String: Double]) -> Bool) async -> [String: Double] {
        var seen = drops(port)
        for _ in 0..<50 where !condition(seen) {
            try? await Task.sleep(for: .milliseconds(100))
            seen = drops(port)
        }
        return seen
    }

    @Test(
        "nftables drops the first response: its transaction says NETFILTER_DROP, the retry names it, one drop counted")
    func droppedResponse() async throws {
        let lab = try Lab(prefix: "i19")
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try "nameserver \(lab.serverAddr)\noptions attempts:2 timeout:1\n".write(
            toFile: "/etc/netns/\(lab.client)/resolv.conf", atomically: true, encoding: .utf8)
        // The quota counts a packet before it compares: the first response (76 or 88 bytes) matches, the next not.
        try lab.run(
            lab.client,
            """
            nft -f - <<'NFT'
            table inet i19_drop {
                chain input {
                    type filter hook input priority 0;
                    udp sport 53 quota until 100 bytes drop
                }
            }
            NFT
            """)
        let port = AgentProcess.metricsPort()
        let agent = try await AgentProcess(config: Self.config(port: port))
        let before = Self.drops(port)["reason=\"NETFILTER_DROP\""] ?? 0
        #expect(try lab.run(lab.client, "getent ahosts a.example.test").contains("10.9.9.1"))
        let after = await Self.waitForDrops(port) { ($0["reason=\"NETFILTER_DROP\""] ?? 0) > before }
        try await Task.sleep(for: .milliseconds(1_500))
        let settled = Self.drops(port)
        let records = try await agent.stop()
        #expect((after["reason=\"NETFILTER_DROP\""] ?? 0) - before == 1, "\(after)")
        #expect(settled == after, "no other drop counted: \(settled)")
        let lookups = records.filter {
            $0.recordType == .dnsTransaction && $0.srcAddr.text == lab.clientAddr && $0.requester?.comm == "getent"
        }
        let dropped = lookups.filter { $0.dnsDropReason != nil }
        #expect(dropped.count == 1, "\(lookups.map { ($0.dnsId, $0.dnsQType, $0.dnsDropReason) })")
        let first = try #require(dropped.first)
        #expect(first.dnsDropReason == "NETFILTER_DROP")
        let retry = try #require(
            lookups.first { $0.dnsRetryOf == first.dnsId && $0.dnsQType == first.dnsQType && $0 != first },
            "the retry names the dropped query")
        #expect(retry.timeFlowStartMs > first.timeFlowStartMs)
        let gapMs = Double(retry.dnsRetryGapNs ?? 0) / 1e6
        #expect(gapMs >= 900 && gapMs < 3_000, "glibc's 1 s timeout: \(gapMs) ms")
    }

    @Test("drops of other packets (UDP to a closed port, an nftables drop on another port) count no DNS drop")
    func otherDropsLeft() async throws {
        let lab = try Lab(prefix: "i19")
        defer { try? lab.teardown() }
        try lab.run(
            lab.client,
            """
            nft -f - <<'NFT'
            table inet i19_other {
                chain output {
                    type filter hook output priority 0;
                    udp dport 19602 drop
                }
            }
            NFT
            """)
        let port = AgentProcess.metricsPort()
        let agent = try await AgentProcess(config: Self.config(port: port))
        let kernelBefore = ReliabilityTests.kernelEvent(port, "drop_not_dns")
        let before = Self.drops(port)
        let sender = "/tmp/\(lab.id)-udp.py"
        // 200 datagrams to a closed port (the server's kernel drops them: no socket), 200 dropped on the way out.
        try """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(200):
            for port in (19601, 19602):
                try: s.sendto(b'x' * 32, ('\(lab.serverAddr)', port))
                except OSError: pass
        """.write(toFile: sender, atomically: true, encoding: .utf8)
        _ = try lab.run(lab.client, "python3 \(sender)")
        var notDNS = kernelBefore
        for _ in 0..<50 where notDNS - kernelBefore < 400 {
            try await Task.sleep(for: .milliseconds(100))
            notDNS = ReliabilityTests.kernelEvent(port, "drop_not_dns")
        }
        try await Task.sleep(for: .milliseconds(1_500))
        let after = Self.drops(port)
        _ = try await agent.stop()
        #expect(notDNS - kernelBefore >= 400, "the drops were seen and left: \(notDNS - kernelBefore)")
        #expect(after == before, "no DNS drop counted: \(after)")
    }
}
