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

    @Test("dig's id is exported with dig's rcode and tshark's latency, in each namespace it crossed")
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

        for (output, rcode, name) in [(found, "NoError", "a.example.test"), (missing, "NXDomain", "nope.example.test")]
        {
            let dig = try #require(digHeader(output), "dig printed no header: \(output)")
            #expect(dig.status.lowercased() == rcode.lowercased())
            let views = records.filter { $0.dnsId == dig.id && $0.dnsLatencyMs != nil }
            // The client's, the router's and the server's namespaces each saw it.
            let namespaces = Set(views.map(\.netNs))
            #expect(
                namespaces == Set([try lab.inode(lab.client), try lab.inode(lab.router), try lab.inode(lab.server)]))
            let clientView = try #require(views.first { $0.netNs == (try? lab.inode(lab.client)) })
            #expect(clientView.dnsFlagsResponseCode?.name == rcode)
            #expect(clientView.dnsName == name)
            #expect(clientView.dnsQType == "A")
            #expect(clientView.dnsErrno == 0)
            #expect(clientView.srcAddr.text == lab.serverAddr && clientView.dstAddr.text == lab.clientAddr)
            #expect(clientView.srcPort == 53 && clientView.proto == 17)
            #expect(clientView.interfaces == [lab.clientInterface])
            #expect(clientView.nodeName == "test-node")
            let tshark = try #require(responses.first { $0.id == dig.id }?.time, "tshark saw no response \(dig.id)")
            let latency = try #require(clientView.dnsLatencyMs)
            #expect(abs(latency - tshark * 1000) < 0.5, "agent \(latency) ms, tshark \(tshark * 1000) ms")
            // The time is split: the server's share is inside the router's, inside the client's.
            let byNamespace = Dictionary(grouping: views, by: \.netNs).mapValues { $0[0].dnsLatencyMs ?? 0 }
            let server = byNamespace[try lab.inode(lab.server)] ?? 0
            let router = byNamespace[try lab.inode(lab.router)] ?? 0
            #expect(server <= router && router <= latency)
            // The query's record is findable by the same id.
            #expect(records.contains { $0.dnsId == dig.id && $0.srcAddr.text == lab.clientAddr && $0.dnsName == name })
        }
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
        let client = try lab.inode(lab.client)
        for (output, proto) in [(udp, UInt8(17)), (tcp, UInt8(6))] {
            let dig = try #require(digHeader(output), "dig printed no header: \(output)")
            let view = try #require(
                records.first {
                    $0.dnsId == dig.id && $0.proto == proto && $0.netNs == client && $0.dnsLatencyMs != nil
                }, "no IPv6 view for id \(dig.id) over \(proto)")
            #expect(view.srcAddr.text == lab.serverAddr6 && view.dstAddr.text == lab.clientAddr6)
            #expect(view.etype == 0x86DD)
            #expect(
                view.dnsQType == "AAAA" && view.dnsName == "a.example.test" && view.dnsFlagsResponseCode == "NoError")
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
        let dig = try #require(digHeader(output))
        let view = try #require(
            records.first { $0.dnsId == dig.id && $0.netNs == (try? lab.inode(lab.client)) && $0.dnsLatencyMs != nil })
        let latency = try #require(view.dnsLatencyMs)
        #expect((40...45).contains(latency), "latency \(latency) ms")
        #expect(view.dnsFlagsResponseCode == "NXDomain")
    }

    @Test("both ids of a glibc A+AAAA lookup are exported")
    func glibcLookup() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let capture = try await Capture(lab: lab, namespace: lab.client, interface: lab.clientInterface)
        let agent = try await AgentProcess()
        let output = try lab.run(lab.client, "getent ahosts a.example.test")
        #expect(output.contains("10.9.9.1"))
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        _ = try await capture.responses()
        let ids = try capture.queryIDs()
        #expect(Set(ids).count >= 2, "glibc sent \(ids)")
        let client = try lab.inode(lab.client)
        let seen = records.filter { $0.netNs == client && $0.dnsLatencyMs != nil }
        for id in Set(ids) {
            #expect(seen.contains { $0.dnsId == id }, "id \(id) missing")
        }
        #expect(Set(seen.compactMap(\.dnsQType)).isSuperset(of: ["A", "AAAA"]))
    }

    @Test("dig +tcp is tracked")
    func digTCP() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess()
        let output = try lab.run(lab.client, "dig +tcp +tries=1 +time=2 @\(lab.serverAddr) b.example.test A")
        try await Task.sleep(for: .milliseconds(300))
        let records = try await agent.stop()
        let dig = try #require(digHeader(output))
        let view = try #require(
            records.first {
                $0.dnsId == dig.id && $0.proto == 6 && $0.netNs == (try? lab.inode(lab.client))
                    && $0.dnsLatencyMs != nil
            })
        #expect(view.dnsFlagsResponseCode == "NoError")
        #expect(view.dnsName == "b.example.test")
        #expect(view.srcPort == 53)
        // The server's namespace timed its own share.
        #expect(
            records.contains {
                $0.dnsId == dig.id && $0.proto == 6 && $0.netNs == (try? lab.inode(lab.server))
                    && $0.dnsLatencyMs != nil
            })
    }

    @Test("a query to a server that never answers comes out as a timeout")
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
        let client = try lab.inode(lab.client)
        let timedOut = try #require(records.first { $0.netNs == client && $0.dnsErrno == DNSErrno.timedOut })
        #expect(timedOut.dnsName == "lost.example.test")
        #expect(timedOut.dnsLatencyMs == nil)
        #expect(timedOut.srcAddr.text == lab.clientAddr && timedOut.dstPort == 5353)
    }

    @Test("1,000 queries from dnsperf over one socket give 1,000 transactions")
    func dnsperfOneSocket() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let agent = try await AgentProcess()
        let report = try lab.dnsperf("-c 1 -n 1 -Q 2000 -q 50")
        try await Task.sleep(for: .milliseconds(500))
        let records = try await agent.stop()
        #expect(report.completed == 1000, "dnsperf: \(report.text)")
        let client = try lab.inode(lab.client)
        let answered = records.filter {
            $0.netNs == client && $0.dnsLatencyMs != nil && $0.srcAddr.text == lab.serverAddr
        }
        #expect(answered.count == 1000)
        #expect(answered.filter { $0.dnsFlagsResponseCode == "NXDomain" }.count == 200)
        // Each response packet is counted once, on its first sighting, whichever view carries it.
        let responses = records.filter { $0.srcAddr.text == lab.serverAddr && $0.srcPort == 53 }
        #expect(responses.reduce(0) { $0 + $1.packets } == 1000)
    }
}
