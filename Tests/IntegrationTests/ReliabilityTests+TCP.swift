import DNSFlowCore
import Foundation
import Testing

extension ReliabilityTests {
    /// Hostile DNS over TCP (bench/hostile_dns.py), one connection each, and what the cgroup_skb
    /// programs make of it.
    enum TCPCase: String, CaseIterable {
        case split, shortLength, twoInOneSegment, garbage, normal

        /// The kernel counters the case must raise, per namespace that sees it (client and server:
        /// cgroup_skb runs for local sockets only).
        var counted: [String: Double] {
            switch self {
            // The continuation starts with the id, read as a length; its header is then read two
            // bytes late and its "question count" is the answer count, 0. The response finds no query.
            case .split: ["dns_short": 2, "dns_bad_qdcount": 2, "dns_orphan_response": 2]
            case .shortLength: ["dns_short": 2]
            // Only the first message of a segment is read: the second's response has no query.
            case .twoInOneSegment: ["dns_orphan_response": 2]
            // "GET / HTTP/1.1": a length of 0x4745, then "HT" where the question count sits.
            case .garbage: ["dns_bad_qdcount": 2]
            case .normal: [:]
            }
        }
    }

    @Test(
        "hostile DNS over TCP is counted by reason or paired with its own query; never mis-paired; the agent survives")
    func hostileTCP() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let (agent, port) = try await Self.agent(dnsTimeout: "1s")
        try #require(
            agent.process.stderr.contains("dnsflow.dns_over_tcp=true"), "no cgroup v2: DNS over TCP is not tracked")
        var answers: [TCPCase: String] = [:]
        for tcpCase in TCPCase.allCases {
            let before = Dictionary(uniqueKeysWithValues: tcpCase.counted.keys.map { ($0, Self.kernelEvent(port, $0)) })
            answers[tcpCase] = try lab.run(
                lab.client, "timeout 10 python3 \(Self.hostileDNS) \(lab.serverAddr) tcp \(tcpCase)")
            let wanted = tcpCase.counted.merging(before) { $0 + $1 }
            let seen = await Self.waitForKernelEvents(port, wanted)
            for (reason, minimum) in wanted {
                #expect(
                    seen[reason, default: 0] >= minimum,
                    "\(tcpCase): \(reason) \(before[reason] ?? 0) → \(seen[reason] ?? 0)")
            }
        }
        #expect(
            answers[.split] == "0x5101\n" && answers[.twoInOneSegment] == "0x5301\n0x5302\n"
                && answers[.normal] == "0x5501\n")
        #expect(try sh("curl -sf http://127.0.0.1:\(port)/healthz") == "ok\n")
        try await Task.sleep(for: .milliseconds(1800))  // anything pending times out (1 s) and goes out
        let records = try await agent.stop()

        // TCP is read at the sockets: the client's and the server's namespaces, not the router's.
        let namespaces = try [lab.inode(lab.client), lab.inode(lab.server)]
        let views = records.filter { $0.proto == 6 && $0.isTransaction && $0.srcAddr.text == lab.clientAddr }
        func view(_ id: UInt16) -> [FlowRecord] { views.filter { $0.dnsId == id } }
        // Paired: one record with a stage in both namespaces, its own name and a short latency.
        for (id, name) in [(UInt16(0x5301), "a.example.test"), (0x5501, "a.example.test")] {
            #expect(
                view(id).count == 1
                    && view(id).allSatisfy {
                        $0.dnsErrno == 0 && $0.dnsName == name && ($0.dnsLatencyMs ?? 99) < 50
                            && $0.dnsStages.map(\.netNs) == namespaces
                    },
                "\(view(id))")
        }
        // Not read: the split query and the second message of a segment; their responses are
        // reported as responses with no query (DnsErrno 2), never paired with something else.
        for (id, name) in [(UInt16(0x5101), "a.example.test"), (0x5302, "b.example.test")] {
            #expect(
                view(id).count == 1
                    && view(id).allSatisfy {
                        $0.dnsErrno == 2 && $0.dnsName == name && $0.dnsLatencyMs == nil && $0.dnsStages.count == 2
                    },
                "\(view(id))")
        }
        let known: Set<UInt16> = [0x5101, 0x5301, 0x5302, 0x5501]
        #expect(
            views.allSatisfy { known.contains($0.dnsId ?? 0) },
            "views from the hostile bytes: \(views.filter { !known.contains($0.dnsId ?? 0) })")
    }
}
