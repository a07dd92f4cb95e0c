import DNSFlowCore

/// Records that cover every template and every optional DNS field being present or absent.
enum Fixtures {
    static let ipv4Flow = FlowRecord(
        srcAddr: "10.244.1.7", dstAddr: "93.184.216.34", srcPort: 43512, dstPort: 443, proto: 6, etype: 0x0800,
        bytes: 123_456_789_012, packets: 98_765, timeFlowStartMs: 1_763_812_800_123, timeFlowEndMs: 1_763_812_805_456,
        interfaces: ["eth0", "genev_sys_6081"], ifDirections: [1, 0], flags: 0x1B, netNs: 4_026_531_840,
        nodeName: "node-a.example")

    static let ipv6Flow = FlowRecord(
        srcAddr: "2001:db8::7", dstAddr: "fd00:10:96::a", srcPort: 5353, dstPort: 80, proto: 17, etype: 0x86DD,
        bytes: 512, packets: 2, timeFlowStartMs: 1_763_812_800_000, timeFlowEndMs: 1_763_812_800_001,
        interfaces: ["ens5"], ifDirections: [0], flags: 0, netNs: 4_026_532_001, nodeName: "node-b")

    static let ipv4DNS = FlowRecord(
        srcAddr: "10.244.1.7", dstAddr: "10.96.0.10", srcPort: 40000, dstPort: 53, proto: 17, etype: 0x0800,
        bytes: 150, packets: 2, timeFlowStartMs: 1_763_812_800_100, timeFlowEndMs: 1_763_812_800_102,
        interfaces: ["eth0"], ifDirections: [1], flags: 0, netNs: 4_026_532_100, nodeName: "node-a.example",
        dnsId: 0xBEEF, dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError", dnsLatencyNs: 1_234_567,
        dnsName: "www.example.com", dnsQType: "A", dnsErrno: 0)

    /// A query that timed out: no latency, no response flags.
    static let ipv6DNSTimeout = FlowRecord(
        srcAddr: "fd00::1", dstAddr: "::ffff:192.0.2.53", srcPort: 41000, dstPort: 53, proto: 17, etype: 0x86DD,
        bytes: 70, packets: 1, timeFlowStartMs: 1_763_812_801_000, timeFlowEndMs: 1_763_812_801_000,
        interfaces: [], ifDirections: [], flags: 0, netNs: 4_026_532_200, nodeName: "node-b",
        dnsId: 7, dnsFlags: 0x0100, dnsFlagsResponseCode: "NXDomain", dnsLatencyNs: nil,
        dnsName: "nope.invalid", dnsQType: "TYPE65280", dnsErrno: DNSErrno.timedOut)

    /// TCP DNS with a 300-octet name, so the name needs the 3-octet length prefix.
    static let ipv4DNSLongName = FlowRecord(
        srcAddr: "192.0.2.1", dstAddr: "198.51.100.2", srcPort: 55000, dstPort: 53, proto: 6, etype: 0x0800,
        bytes: 900, packets: 6, timeFlowStartMs: 1_763_812_802_000, timeFlowEndMs: 1_763_812_802_500,
        interfaces: ["lo"], ifDirections: [0], flags: 0x1F, netNs: 1, nodeName: "n",
        dnsId: 1, dnsFlags: 0x8183, dnsFlagsResponseCode: "ServFail", dnsLatencyNs: 250_000_001,
        dnsName: String(repeating: "a", count: 290) + ".example", dnsQType: "AAAA", dnsErrno: 0)

    static let all = [ipv4Flow, ipv6Flow, ipv4DNS, ipv6DNSTimeout, ipv4DNSLongName]
}

/// DNS transactions: one lookup's record with its stages, answers and requester.
extension Fixtures {
    /// Through a router that DNATs the Service address: client, router before and after NAT, server.
    static let transaction: FlowRecord = {
        var record = FlowRecord(
            recordType: .dnsTransaction,
            srcAddr: "10.244.1.7", dstAddr: "10.96.0.10", srcPort: 40001, dstPort: 53, proto: 17, etype: 0x0800,
            bytes: 212, packets: 3, timeFlowStartMs: 1_763_812_800_100, timeFlowEndMs: 1_763_812_800_101,
            interfaces: ["eth0", "veth-r0", "veth-r1", "eth0"], ifDirections: [1, 0, 1, 0], flags: 0,
            netNs: 4_026_532_100, nodeName: "node-a.example",
            dnsId: 0xCAFE, dnsFlags: 0x8180, dnsFlagsResponseCode: "NoError", dnsLatencyNs: 713_000,
            dnsName: "www.example.test", dnsQType: "A", dnsErrno: 0)
        record.xlatDstAddr = "10.0.9.53"
        record.xlatDstPort = 5353
        record.netNsName = "client"
        record.dnsStages = [
            DNSStage(
                netNs: 4_026_532_100, netNsName: "client", interface: "eth0", serverAddr: "10.96.0.10",
                serverPort: 53, latencyNs: 713_000),
            DNSStage(
                netNs: 4_026_532_200, netNsName: "router", interface: "veth-r0", serverAddr: "10.96.0.10",
                serverPort: 53, latencyNs: 698_000),
            DNSStage(
                netNs: 4_026_532_200, netNsName: "router", interface: "veth-r1", serverAddr: "10.0.9.53",
                serverPort: 5353, latencyNs: 483_000),
            DNSStage(
                netNs: 4_026_532_300, interface: "eth0", serverAddr: "10.0.9.53", serverPort: 5353,
                latencyNs: 469_000),
        ]
        record.dnsRetransmits = 1
        record.dnsAnswers = DNSAnswers(
            addresses: ["10.9.9.9", "10.9.9.10", "fd00::9"], cnames: ["web.example.test", "lb.example.test"],
            ttl: 300)
        record.requester = Requester(
            pid: 4242, comm: "dig", cgroupId: 0x1234_5678_9ABC,
            containerId: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            podUid: "6b2c5a3e-1d4f-4b8a-9c7d-0e1f2a3b4c5d")
        return record
    }()

    /// IPv6, timed out: no response, so no latency, answers or translation; one stage, no requester.
    static let ipv6TransactionTimeout: FlowRecord = {
        var record = FlowRecord(
            recordType: .dnsTransaction,
            srcAddr: "fd00::1", dstAddr: "fd00::53", srcPort: 41001, dstPort: 53, proto: 17, etype: 0x86DD,
            bytes: 140, packets: 2, timeFlowStartMs: 1_763_812_801_000, timeFlowEndMs: 1_763_812_806_000,
            interfaces: ["ens5"], ifDirections: [1], flags: 0, netNs: 4_026_532_400, nodeName: "node-b",
            dnsId: 9, dnsFlags: 0x0100, dnsName: "slow.example.test", dnsQType: "AAAA", dnsErrno: DNSErrno.timedOut)
        record.dnsStages = [
            DNSStage(netNs: 4_026_532_400, interface: "ens5", serverAddr: "fd00::53", serverPort: 53, latencyNs: nil)
        ]
        record.dnsRetransmits = 1
        return record
    }()

    /// A flow to an address the client resolved.
    static let ipv4FlowWithName: FlowRecord = {
        var record = ipv4Flow
        record.dstDnsName = "web.example.test"
        record.netNsName = "client"
        return record
    }()

    static let transactions = [transaction, ipv6TransactionTimeout]
}

/// The server side and the Kubernetes names.
extension Fixtures {
    /// A pod's miss through a Service to CoreDNS, told by dnstap: two upstreams, one IPv6, one unanswered.
    static let serverSideMiss: FlowRecord = {
        var record = transaction
        record.dnsCacheHit = false
        record.dnsServerSource = .dnstap
        record.dnsUpstream = [
            DNSLinkedLookup(addr: "10.0.1.53", port: 53, dnsId: 900, latencyNs: 40_500_000, rcode: .noError),
            DNSLinkedLookup(addr: "fd00::53", port: 5353, dnsId: 901),
        ]
        record.srcK8S = KubernetesObject(
            kind: .pod, name: "checkout-7d9f", namespace: "shop", ownerName: "checkout", ownerType: "Deployment",
            hostName: "node-a.example")
        record.dstK8S = KubernetesObject(kind: .service, name: "kube-dns", namespace: "kube-system")
        record.xlatDstK8S = KubernetesObject(kind: .pod, name: "coredns-5d78", namespace: "kube-system")
        return record
    }()

    /// The resolver's own upstream query, from packets: the client lookups it served, no cache verdict.
    static let upstreamServing: FlowRecord = {
        var record = ipv6TransactionTimeout
        record.dnsServerSource = .packets
        record.dnsServes = [
            DNSLinkedLookup(addr: "10.244.1.7", port: 40_001, dnsId: 0xCAFE),
            DNSLinkedLookup(addr: "fd00::7", port: 40_002, dnsId: 7),
        ]
        return record
    }()

    /// A flow between two pods, with a node's name as the destination.
    static let ipv4FlowBetweenPods: FlowRecord = {
        var record = ipv4Flow
        record.srcK8S = KubernetesObject(
            kind: .pod, name: "web-0", namespace: "shop", ownerName: "web", ownerType: "StatefulSet")
        record.dstK8S = KubernetesObject(kind: .node, name: "node-b", namespace: "")
        return record
    }()

    static let serverSideAndKubernetes = [serverSideMiss, upstreamServing, ipv4FlowBetweenPods]
}
