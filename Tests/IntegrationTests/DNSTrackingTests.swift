import DNSFlowCore
import Foundation
import Testing

/// The real agent, the real kernel hooks, real DNS servers and clients, in namespaces the tests
/// make. Root is required: run as root (CI does), or these fail saying so.
@Suite(.serialized)
struct DNSTrackingTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    /// The one transaction record of `id` (over `proto`) from the lab's client: suites run in
    /// parallel, and the agent sees every lab's lookups.
    private func transaction(
        _ records: [FlowRecord], _ id: UInt16, proto: UInt8 = 17, in lab: Lab
    ) throws -> FlowRecord {
        let found = records.filter {
            $0.isTransaction && $0.dnsId == id && $0.proto == proto
                && [lab.clientAddr, lab.clientAddr6].contains($0.srcAddr.text)
        }
        try #require(found.count == 1, "id \(id): \(found.count) transaction records: \(found)")
        return found[0]
    }

    @Test("dig's lookup is one record: dig's id and rcode, tshark's latency, a stage per namespace it crossed")
    func digUDP() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let capture = try await Capture(lab: lab, namespace: lab.client, interface: lab.clientInterface)
        let agent = try await AgentProcess()
        let found = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        let missing = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) nope.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let responses = try await capture.responses()
        let namespaces = [try lab.inode(lab.client), try lab.inode(lab.router), try lab.inode(lab.server)]

        for (output, rcode, name) in [(found, "NoError", "a.example.test"), (missing, "NXDomain", "nope.example.test")]
        {
            let dig = try #require(digHeader(output), "dig printed no header: \(output)")
            #expect(dig.status.lowercased() == rcode.lowercased())
            #expect(
                records.filter { $0.dnsId == dig.id && $0.srcAddr.text == lab.clientAddr }.count == 1,
                "one record per lookup")
            let lookup = try transaction(records, dig.id, in: lab)
            #expect(lookup.dnsFlagsResponseCode?.name == rcode)
            #expect(lookup.dnsName == name && lookup.dnsQType == "A" && lookup.dnsErrno == 0)
            #expect(lookup.srcAddr.text == lab.clientAddr && lookup.dstAddr.text == lab.serverAddr)
            #expect(lookup.dstPort == 53 && lookup.srcPort != 53 && lookup.proto == 17)
            #expect(lookup.xlatDstAddr == nil, "nothing translated it")
            #expect(lookup.netNs == namespaces[0] && lookup.nodeName == "test-node")
            #expect(lookup.interfaces.first == lab.clientInterface)
            #expect(lookup.packets == 2, "its query and its response")
            // The client's, the router's and the server's namespaces each paired it, in that order,
            // each wait inside the one before.
            #expect(lookup.dnsStages.map(\.netNs) == namespaces)
            // Namespaces by their `ip netns` names.
            #expect(lookup.netNsName == lab.client)
            #expect(lookup.dnsStages.map(\.netNsName) == [lab.client, lab.router, lab.server])
            let latencies = lookup.dnsStages.compactMap(\.latencyNs)
            #expect(latencies.count == 3 && latencies == latencies.sorted(by: >), "\(latencies)")
            #expect(lookup.dnsLatencyNs == latencies.first)
            let tshark = try #require(responses.first { $0.id == dig.id }?.time, "tshark saw no response \(dig.id)")
            let latency = try #require(lookup.dnsLatencyMs)
            #expect(abs(latency - tshark * 1000) < 0.5, "agent \(latency) ms, tshark \(tshark * 1000) ms")
        }
        // No flow record for the lookups' 5-tuples: their packets are the transactions'.
        #expect(
            !records.contains {
                $0.recordType == .flow && ($0.dstPort == 53 || $0.srcPort == 53)
                    && [$0.srcAddr.text, $0.dstAddr.text].contains(lab.clientAddr)
            })
    }

    @Test("a lookup of a Service address that a router translates: one record, four stages, the translated server")
    func translatedService() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try lab.translateServiceAddress()
        let agent = try await AgentProcess()
        let udp = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serviceAddr) a.example.test A")
        let tcp = try lab.run(lab.client, "dig +tcp +tries=1 +time=2 @\(lab.serviceAddr) b.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let client = try lab.inode(lab.client)
        let router = try lab.inode(lab.router)
        let server = try lab.inode(lab.server)
        for (output, proto) in [(udp, UInt8(17)), (tcp, UInt8(6))] {
            let dig = try #require(digHeader(output), "dig printed no header: \(output)")
            #expect(dig.status == "NOERROR")
            let lookup = try transaction(records, dig.id, proto: proto, in: lab)
            #expect(lookup.dstAddr.text == lab.serviceAddr, "the server as the client addressed it")
            #expect(lookup.xlatDstAddr?.text == lab.serverAddr && lookup.xlatDstPort == 53)
            // UDP is read on every interface: the router pairs it before and after translating.
            // TCP at the sockets: the client's and the server's.
            let stages = proto == 17 ? [client, router, router, server] : [client, server]
            let servers =
                proto == 17
                ? [lab.serviceAddr, lab.serviceAddr, lab.serverAddr, lab.serverAddr]
                : [lab.serviceAddr, lab.serverAddr]
            #expect(lookup.dnsStages.map(\.netNs) == stages)
            #expect(lookup.dnsStages.map(\.serverAddr.text) == servers)
            let latencies = lookup.dnsStages.compactMap(\.latencyNs)
            #expect(latencies.count == stages.count && latencies == latencies.sorted(by: >), "\(latencies)")
        }
    }

    @Test("what it answered: A and AAAA addresses, the CNAME chain, the TTL; none for NXDOMAIN")
    func answers() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess()
        let dig = "dig +tries=1 +time=2 @\(lab.serverAddr)"
        let a = try lab.run(lab.client, "\(dig) a.example.test A")
        let aaaa = try lab.run(lab.client, "\(dig) a.example.test AAAA")
        let chain = try lab.run(lab.client, "\(dig) www.example.test A")
        let missing = try lab.run(lab.client, "\(dig) nope.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        func lookup(_ output: String) throws -> FlowRecord {
            try transaction(records, try #require(digHeader(output), "no header: \(output)").id, in: lab)
        }
        let v4 = try lookup(a)
        #expect(v4.dnsAnswers?.addresses.map(\.text) == ["10.9.9.1"])
        #expect(v4.dnsAnswers?.ttl == UInt32(Lab.answerTTL))
        #expect(try lookup(aaaa).dnsAnswers?.addresses.map(\.text) == ["fd00::1"])
        let cnames = try lookup(chain)
        #expect(cnames.dnsAnswers?.cnames == ["alias.example.test", "a.example.test"])
        #expect(cnames.dnsAnswers?.addresses.map(\.text) == ["10.9.9.1"])
        #expect(try lookup(missing).dnsAnswers?.addresses ?? [] == [])
    }

    @Test("who asked: dig's and getent's lookups carry their command and process")
    func whoAsked() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let capture = try await Capture(lab: lab, namespace: lab.client, interface: lab.clientInterface)
        let agent = try await AgentProcess()
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        #expect(try lab.run(lab.client, "getent ahosts b.example.test").contains("10.9.9.2"))
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        _ = try await capture.responses()
        let dig = try transaction(records, try #require(digHeader(output)).id, in: lab)
        #expect(dig.requester?.comm == "dig" && (dig.requester?.pid ?? 0) > 0)
        #expect((dig.requester?.cgroupId ?? 0) > 0)
        // glibc asks A and AAAA: two records, both getent's.
        let ids = Set(try capture.queryIDs()).subtracting([dig.dnsId!])
        #expect(ids.count == 2, "getent sent \(ids)")
        let lookups = try ids.map { try transaction(records, $0, in: lab) }
        #expect(Set(lookups.compactMap(\.dnsQType)) == ["A", "AAAA"])
        #expect(lookups.allSatisfy { $0.requester?.comm == "getent" }, "\(lookups.map(\.requester))")
    }

    @Test("a TCP connection to an address the client resolved carries the name it was resolved from")
    func flowsCarryTheNameTheyWereResolvedFrom() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        try lab.placeInServer("10.9.9.2")
        try lab.start(lab.server, "python3 -m http.server --bind 10.9.9.2 8080")
        let agent = try await AgentProcess()
        #expect(try lab.run(lab.client, "getent ahosts b.example.test").contains("10.9.9.2"))
        var fetched = ""
        for _ in 0..<50 where fetched.isEmpty {
            fetched = (try? lab.run(lab.client, "curl -sf -o /dev/null -w %{http_code} http://10.9.9.2:8080/")) ?? ""
            if fetched.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(fetched == "200")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let flow = try #require(
            records.first { $0.recordType == .flow && $0.dstAddr.text == "10.9.9.2" && $0.dstPort == 8080 },
            "no flow to 10.9.9.2:8080")
        #expect(flow.dstDnsName == "b.example.test")
        #expect(flow.srcAddr.text == lab.clientAddr)
    }

    @Test("DNS over IPv6 is tracked, UDP and TCP")
    func ipv6() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess()
        let udp = try lab.run(lab.client, "dig -6 +tries=1 +time=2 @\(lab.serverAddr6) a.example.test AAAA")
        let tcp = try lab.run(lab.client, "dig -6 +tcp +tries=1 +time=2 @\(lab.serverAddr6) a.example.test AAAA")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        for (output, proto) in [(udp, UInt8(17)), (tcp, UInt8(6))] {
            let dig = try #require(digHeader(output), "dig printed no header: \(output)")
            let lookup = try transaction(records, dig.id, proto: proto, in: lab)
            #expect(lookup.srcAddr.text == lab.clientAddr6 && lookup.dstAddr.text == lab.serverAddr6)
            #expect(lookup.etype == 0x86DD && lookup.dnsLatencyMs != nil)
            #expect(
                lookup.dnsQType == "AAAA" && lookup.dnsName == "a.example.test"
                    && lookup.dnsFlagsResponseCode == "NoError")
        }
    }

    @Test("a server that waits 40 ms gives 40 to 45 ms")
    func slowServer() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startSlowServer(delay: .milliseconds(40))
        let agent = try await AgentProcess()
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) slow.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let lookup = try transaction(records, try #require(digHeader(output)).id, in: lab)
        let latency = try #require(lookup.dnsLatencyMs)
        #expect((40...45).contains(latency), "latency \(latency) ms")
        #expect(lookup.dnsFlagsResponseCode == "NXDomain")
    }

    @Test("dig +tcp is one record, timed in every namespace")
    func digTCP() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess()
        let output = try lab.run(lab.client, "dig +tcp +tries=1 +time=2 @\(lab.serverAddr) b.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let lookup = try transaction(records, try #require(digHeader(output)).id, proto: 6, in: lab)
        #expect(lookup.dnsFlagsResponseCode == "NoError" && lookup.dnsName == "b.example.test")
        #expect(lookup.dstPort == 53 && lookup.srcAddr.text == lab.clientAddr)
        // TCP is read at the sockets: the client's and the server's namespaces, not the router's.
        #expect(lookup.dnsStages.map(\.netNs) == [try lab.inode(lab.client), try lab.inode(lab.server)])
        #expect(lookup.dnsStages.allSatisfy { $0.latencyNs != nil })
        #expect(lookup.requester?.comm == "dig")
    }

    @Test("a query to a server that never answers is one record with DnsErrno 110 and the stages that saw it")
    func timeout() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startSilentServer(port: 5353)
        let agent = try await AgentProcess(config: AgentProcess.config(dnsTimeout: "1s"))
        let output = try lab.run(
            lab.client, "dig +tries=1 +time=1 -p 5353 @\(lab.serverAddr) lost.example.test A || true")
        #expect(output.contains("timed out") || output.contains("no servers could be reached"))
        try await Task.sleep(for: .seconds(3))
        let records = try await agent.stop()
        let lost = records.filter { $0.dnsName == "lost.example.test" }
        try #require(lost.count == 1, "\(lost)")
        let timedOut = lost[0]
        #expect(timedOut.isTransaction && timedOut.dnsErrno == DNSErrno.timedOut && timedOut.dnsLatencyMs == nil)
        #expect(timedOut.srcAddr.text == lab.clientAddr && timedOut.dstPort == 5353)
        #expect(
            timedOut.dnsStages.map(\.netNs) == [
                try lab.inode(lab.client), try lab.inode(lab.router), try lab.inode(lab.server),
            ])
        #expect(timedOut.dnsStages.allSatisfy { $0.latencyNs == nil })
    }

    @Test("1,000 queries from dnsperf over one socket give 1,000 records")
    func dnsperfOneSocket() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess()
        let report = try lab.dnsperf("-c 1 -n 1 -Q 2000 -q 50")
        try await Task.sleep(for: .milliseconds(500))
        let records = try await agent.stop()
        #expect(report.completed == 1000, "dnsperf: \(report.text)")
        let lookups = records.filter { $0.isTransaction && $0.srcAddr.text == lab.clientAddr }
        #expect(lookups.count == 1000)
        #expect(lookups.allSatisfy { $0.dnsLatencyMs != nil && $0.dnsStages.count == 3 })
        #expect(lookups.filter { $0.dnsFlagsResponseCode == "NXDomain" }.count == 200)
        // Each packet counted once: in its transaction, none left to the socket's flows.
        #expect(lookups.reduce(0) { $0 + $1.packets } == 2000)
        #expect(!records.contains { $0.recordType == .flow && $0.dstPort == 53 && $0.srcAddr.text == lab.clientAddr })
    }
}
