import DNSFlowCore
import Foundation
import Testing

/// The server's side of a lookup: a resolver in the lab's router namespace (10.n.1.1) that forwards
/// to a test server in the server namespace (10.n.2.2). Cache hits and misses from packets alone
/// (dnsmasq), and from the resolver's own dnstap (unbound).
@Suite(.serialized)
struct ServerSideTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    static let features = "DNSTracking, DNSServerSide"

    /// The resolver's address, on the client's side of the router.
    static func resolverAddr(_ lab: Lab) -> String { "10.\(lab.subnet).1.1" }
    /// Where the resolver's upstream queries leave from.
    static func resolverOutAddr(_ lab: Lab) -> String { "10.\(lab.subnet).2.1" }

    /// A server on the lab's server address that answers every A query with 10.9.9.9, TTL 300,
    /// after `delayMs` (a forwarder's cache keeps the answer).
    func startAnsweringServer(_ lab: Lab, delayMs: Int) async throws {
        let path = "/tmp/\(lab.id)-answer.py"
        try """
        import socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('\(lab.serverAddr)', 53))
        while True:
            q, peer = s.recvfrom(4096)
            time.sleep(\(Double(delayMs) / 1000))
            end = 12
            while q[end] != 0: end += q[end] + 1
            question = q[12:end + 5]
            header = q[:2] + bytes([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0])
            answer = bytes([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 10, 9, 9, 9])
            s.sendto(header + question + answer, peer)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let process = try lab.start(lab.server, "python3 -u \(path)")
        try await waitForUDP(lab, lab.server, lab.serverAddr, process: process)
    }

    func waitForUDP(_ lab: Lab, _ namespace: String, _ address: String, process: BackgroundProcess) async throws {
        for _ in 0..<200 {
            if let out = try? lab.run(namespace, "ss -uln"), out.contains("\(address):53 ") { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ShellError(command: "DNS server on \(address) in \(namespace)", status: -1, stderr: process.stderr)
    }

    /// Runs dig in the client namespace for each name, one after the other; returns dig's ids.
    func dig(_ lab: Lab, _ names: [String]) throws -> [UInt16] {
        let script = names.map { "dig +tries=1 +time=2 +nocookie @\(Self.resolverAddr(lab)) \($0) A" }
            .joined(separator: "; ")
        let output = try lab.run(lab.client, "sh -c '\(script)'")
        let ids = output.components(separatedBy: ";; ->>HEADER<<-").dropFirst().compactMap {
            digHeader(";; ->>HEADER<<-" + $0)?.id
        }
        try #require(ids.count == names.count, "dig printed \(ids.count) headers for \(names.count) names: \(output)")
        return ids
    }

    /// The lab client's transaction record with `id` (of `name`: dig's random ids repeat over many
    /// lookups), from the client's own namespace.
    func clientLookup(_ records: [FlowRecord], _ id: UInt16, name: String? = nil, lab: Lab) throws -> FlowRecord {
        let client = try lab.inode(lab.client)
        let found = records.filter {
            $0.isTransaction && $0.dnsId == id && $0.netNs == client && (name == nil || $0.dnsName == name)
        }
        try #require(found.count == 1, "id \(id): \(found.count) client records")
        return found[0]
    }

    @Test("dnsmasq from packets alone: 100 lookups, each name twice, miss then hit, the miss linked to its upstream")
    func dnsmasqHitsAndMisses() async throws {
        let lab = try Lab(prefix: "i20")
        defer { try? lab.teardown() }
        try await startAnsweringServer(lab, delayMs: 0)
        let resolver = try lab.start(
            lab.router,
            """
            dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
            --listen-address=\(Self.resolverAddr(lab)) --server=\(lab.serverAddr) --cache-size=1000 --pid-file= \
            --log-facility=-
            """)
        try await waitForUDP(lab, lab.router, Self.resolverAddr(lab), process: resolver)
        let agent = try await AgentProcess(config: AgentProcess.config(features: Self.features))
        // Name k asked at 2k (a miss) and at 2k+1 (a hit).
        let names = (0..<100).map { "n\($0 / 2).cache.test" }
        let ids = try dig(lab, names)
        try await Task.sleep(for: .milliseconds(1500))
        let records = try await agent.stop()

        let router = try lab.inode(lab.router)
        var misses = 0
        var hits = 0
        for (index, id) in ids.enumerated() {
            let lookup = try clientLookup(records, id, name: names[index], lab: lab)
            #expect(lookup.dnsName == names[index] && lookup.dnsFlagsResponseCode == .noError)
            #expect(lookup.dnsStages.map(\.netNs).last == router, "the lookup reached the resolver's namespace")
            #expect(lookup.dnsServerSource == .packets, "lookup \(index)")
            if index % 2 == 0 {
                #expect(lookup.dnsCacheHit == false, "lookup \(index) of \(names[index]) is a miss")
                let upstream = try #require(lookup.dnsUpstream.first, "lookup \(index) has no upstream")
                #expect(lookup.dnsUpstream.count == 1)
                #expect(upstream.addr.text == lab.serverAddr && upstream.port == 53 && upstream.rcode == .noError)
                #expect(upstream.latencyNs.map { $0 <= lookup.dnsLatencyNs ?? 0 } == true)
                // The upstream transaction is its own record, and names the lookup it served.
                let own = records.filter {
                    $0.isTransaction && $0.dnsId == upstream.dnsId && $0.srcAddr.text == Self.resolverOutAddr(lab)
                        && $0.netNs == router && $0.dnsName == names[index]
                }
                try #require(own.count == 1, "the upstream \(upstream.dnsId) has \(own.count) records")
                #expect(own[0].dnsName == names[index])
                #expect(own[0].dnsServes == [DNSLinkedLookup(addr: lookup.srcAddr, port: lookup.srcPort, dnsId: id)])
                if lookup.dnsCacheHit == false { misses += 1 }
            } else {
                #expect(lookup.dnsCacheHit == true, "lookup \(index) of \(names[index]) is a hit")
                #expect(lookup.dnsUpstream.isEmpty)
                if lookup.dnsCacheHit == true { hits += 1 }
            }
        }
        #expect(misses == 50 && hits == 50)
    }

    /// unbound in the router namespace forwarding everything to the lab's server, with dnstap to `socket`.
    func startUnbound(_ lab: Lab, socket: String) async throws -> BackgroundProcess {
        let config = "/tmp/\(lab.id)-unbound.conf"
        try """
        server:
            interface: \(Self.resolverAddr(lab))
            port: 53
            access-control: 0.0.0.0/0 allow
            do-daemonize: no
            username: ""
            chroot: ""
            directory: "/tmp"
            pidfile: ""
            use-syslog: no
            logfile: ""
            verbosity: 1
            do-ip6: no
            module-config: "iterator"
            qname-minimisation: no
            outgoing-interface: \(Self.resolverOutAddr(lab))
            num-threads: 1
            # unbound answers test. itself (RFC 6761) unless told not to.
            local-zone: "test." nodefault
        forward-zone:
            name: "."
            forward-addr: \(lab.serverAddr)
        dnstap:
            dnstap-enable: yes
            dnstap-socket-path: "\(socket)"
            dnstap-send-identity: yes
            dnstap-identity: "unbound-\(lab.id)"
            dnstap-log-client-query-messages: yes
            dnstap-log-client-response-messages: yes
            dnstap-log-forwarder-query-messages: yes
            dnstap-log-forwarder-response-messages: yes
            dnstap-log-resolver-query-messages: yes
            dnstap-log-resolver-response-messages: yes
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try lab.start(lab.router, "unbound -d -c \(config)")
        try await waitForUDP(lab, lab.router, Self.resolverAddr(lab), process: process)
        return process
    }

    func dnstapConfig(_ socket: String) -> String {
        AgentProcess.config(extra: "    dnstap: {unix: \(socket)}", features: Self.features)
    }

    @Test(
        "unbound over dnstap: the first lookup a miss with its 40 ms upstream, the second a hit, both joined to dig's")
    func unboundDnstap() async throws {
        let lab = try Lab(prefix: "i20")
        defer { try? lab.teardown() }
        try await startAnsweringServer(lab, delayMs: 40)
        let socket = "/tmp/\(lab.id)-dnstap.sock"
        let agent = try await AgentProcess(config: dnstapConfig(socket))
        let unbound = try await startUnbound(lab, socket: socket)
        try await waitForSender(agent)
        let ids = try dig(lab, ["slow.cache.test", "slow.cache.test"])
        try await Task.sleep(for: .milliseconds(1500))
        let records = try await agent.stop()
        #expect(unbound.isRunning)
        let (miss, hit, upstream) = try expectDnstapMissThenHit(records, ids, lab: lab)
        // Joined with the packets' own record of the lookup: its stages and its latency.
        let router = try lab.inode(lab.router)
        #expect(miss.dnsStages.map(\.netNs).last == router && hit.dnsStages.map(\.netNs).last == router)
        #expect((miss.dnsLatencyMs ?? 0) >= Double(upstream.latencyNs ?? 0) / 1e6 && (hit.dnsLatencyMs ?? 100) < 10)
        // The resolver's upstream query, from packets, names the client lookup it served.
        let own = records.filter { $0.isTransaction && $0.dnsId == upstream.dnsId && $0.netNs == router }
        try #require(own.count == 1, "the upstream has \(own.count) records")
        #expect(own[0].dnsServes == [DNSLinkedLookup(addr: miss.srcAddr, port: miss.srcPort, dnsId: ids[0])])
        // One record of each lookup, joined: the agent's last window let go of no dnstap-only twin.
        let mine = records.filter { $0.isTransaction && $0.srcAddr.text == lab.clientAddr }
        #expect(mine.count == 2 && !mine.contains(where: \.isDnstapOnly), "\(mine)")
    }

    @Test("a client whose packets the agent does not watch: its lookup from unbound's dnstap alone, in the collector")
    func dnstapOnlyLookupInTheCollector() async throws {
        let lab = try Lab(prefix: "i20")
        defer { try? lab.teardown() }
        try await startAnsweringServer(lab, delayMs: 40)
        let collector = try await CollectorProcess(httpPort: 19710, ipfixPort: 19711)
        do {
            try await dnstapOnlyLookup(lab, collector)
        } catch {
            await collector.stop()
            throw error
        }
        await collector.stop()
    }

    /// The client's veth pair is excluded, as a node would exclude interfaces it does not own: its
    /// lookup is known only from what unbound tells over dnstap. Returns it as the collector stored it.
    @discardableResult
    func dnstapOnlyLookup(_ lab: Lab, _ collector: CollectorProcess) async throws -> FlowRecord {
        let socket = "/tmp/\(lab.id)-dnstap.sock"
        let config = AgentProcess.config(
            extra: "    dnstap: {unix: \(socket), joinWindow: 2s}",
            exporters: "    - type: Stdout\n    - {type: HTTP, http: {url: '\(collector.url)/api/v1/flows'}}",
            features: Self.features
        ).replacingOccurrences(
            of: "      features:", with: "      excludeInterfaces: [\(lab.id)c0, \(lab.id)r0]\n      features:")
        let agent = try await AgentProcess(config: config)
        let unbound = try await startUnbound(lab, socket: socket)
        try await waitForSender(agent)
        let output = try lab.run(
            lab.client, "dig +tries=1 +time=2 +nocookie @\(Self.resolverAddr(lab)) off.cache.test A")
        let dig = try #require(digHeader(output), "no header from dig: \(output)")
        var found: [FlowRecord] = []
        for _ in 0..<100 {  // the join window, the agent's batch, the collector's write
            let json = try sh("curl -sf '\(collector.url)/api/v1/lookups?serverSource=dnstap&dnsId=\(dig.id)'")
            found = try FlowRecordJSON.decodePage(Array(json.utf8)).records.filter { $0.srcAddr.text == lab.clientAddr }
            if !found.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let records = try await agent.stop()
        #expect(unbound.isRunning)
        try #require(found.count == 1, "id \(dig.id): \(found.count) dnstap lookups in the collector")
        let lookup = found[0]
        #expect(lookup.isDnstapOnly && lookup.dnsServerSource == .dnstap && lookup.nodeName == "test-node")
        #expect(lookup.dstAddr.text == Self.resolverAddr(lab) && lookup.dstPort == 53 && lookup.proto == 17)
        #expect(lookup.dnsName == "off.cache.test" && lookup.dnsQType == .a)
        #expect(dig.status == "NOERROR" && lookup.dnsFlagsResponseCode == .noError)
        #expect(lookup.dnsAnswers?.addresses == ["10.9.9.9"])
        #expect(lookup.dnsCacheHit == false && lookup.dnsUpstream.first?.addr.text == lab.serverAddr)
        let upstreamMs = Double(lookup.dnsUpstream.first?.latencyNs ?? 0) / 1e6
        let latencyMs = lookup.dnsLatencyMs ?? 0
        // At least the test server's 40 ms, within the client's wait (the 40–45 ms bound is unboundDnstap's).
        #expect(upstreamMs >= 40 && latencyMs >= upstreamMs, "\(upstreamMs) ms of \(latencyMs) ms")
        // The packets' record of it was not exported, nor joined: the one record is dnstap's.
        #expect(!records.contains { $0.isTransaction && $0.srcAddr.text == lab.clientAddr && !$0.isDnstapOnly })
        let packets = try sh("curl -sf '\(collector.url)/api/v1/lookups?serverSource=packets&dnsId=\(dig.id)'")
        #expect(
            try FlowRecordJSON.decodePage(Array(packets.utf8)).records.allSatisfy { $0.srcAddr.text != lab.clientAddr })
        return lookup
    }

    /// bind flushes its dnstap at most once a second (`fstrm-set-flush-timeout` is 1 to 600 s), so its
    /// messages may come after the window exported the lookups: then the packets' linking stands.
    @Test("bind9 as a second dnstap sender: its forwarded lookup a miss with its 40 ms upstream, then a hit")
    func bindDnstap() async throws {
        let lab = try Lab(prefix: "i20")
        defer { try? lab.teardown() }
        try await startAnsweringServer(lab, delayMs: 40)
        let socket = "/tmp/\(lab.id)-dnstap.sock"
        let agent = try await AgentProcess(config: dnstapConfig(socket))
        let directory = "/tmp/\(lab.id)-named"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        options {
            directory "\(directory)";
            pid-file none;
            listen-on port 53 { \(Self.resolverAddr(lab)); };
            listen-on-v6 { none; };
            recursion yes;
            allow-query { any; };
            allow-recursion { any; };
            forwarders { \(lab.serverAddr); };
            forward only;
            dnssec-validation no;
            query-source address \(Self.resolverOutAddr(lab));
            dnstap { client; forwarder; resolver; };
            dnstap-output unix "\(socket)";
        };
        """.write(toFile: "\(directory)/named.conf", atomically: true, encoding: .utf8)
        let named = try lab.start(lab.router, "named -g -n 1 -c \(directory)/named.conf")
        try await waitForUDP(lab, lab.router, Self.resolverAddr(lab), process: named)
        try await waitForSender(agent)
        let ids = try dig(lab, ["slow.cache.test", "slow.cache.test"])
        try await Task.sleep(for: .milliseconds(1500))
        let records = try await agent.stop()
        let miss = try clientLookup(records, ids[0], lab: lab)
        let hit = try clientLookup(records, ids[1], lab: lab)
        #expect(miss.dnsServerSource != nil && hit.dnsServerSource != nil, "\(named.stderr)")
        #expect(miss.dnsCacheHit == false && hit.dnsCacheHit == true)
        let upstream = try #require(miss.dnsUpstream.first, "no upstream on the miss: \(miss)")
        #expect(upstream.addr.text == lab.serverAddr && upstream.port == 53 && hit.dnsUpstream.isEmpty)
        #expect((40...50).contains(Double(upstream.latencyNs ?? 0) / 1e6), "bind's clock ticks in ms")
        #expect(!agent.process.stderr.contains("dnstap connection closed"), "its Frame Streams were read")
    }

    /// The client's two lookups of one name: the first a miss with one upstream of 40–45 ms to the
    /// lab's server, the second a hit, both from dnstap.
    func expectDnstapMissThenHit(
        _ records: [FlowRecord], _ ids: [UInt16], lab: Lab, log: String = ""
    ) throws -> (miss: FlowRecord, hit: FlowRecord, upstream: DNSLinkedLookup) {
        let miss = try clientLookup(records, ids[0], lab: lab)
        let hit = try clientLookup(records, ids[1], lab: lab)
        #expect(miss.dnsServerSource == .dnstap && hit.dnsServerSource == .dnstap, "\(log)")
        #expect(miss.dnsCacheHit == false && hit.dnsCacheHit == true)
        let upstream = try #require(miss.dnsUpstream.first, "no upstream on the miss: \(miss)")
        #expect(miss.dnsUpstream.count == 1 && hit.dnsUpstream.isEmpty)
        #expect(upstream.addr.text == lab.serverAddr && upstream.port == 53 && upstream.rcode == .noError)
        let latencyMs = Double(upstream.latencyNs ?? 0) / 1e6
        #expect((40...45).contains(latencyMs), "the upstream took \(latencyMs) ms")
        return (miss, hit, upstream)
    }

    /// Until the agent logs a dnstap sender, at most 15 s (unbound retries its connection on a timer).
    func waitForSender(_ agent: AgentProcess) async throws {
        let connected = await agent.process.waitForStderr(timeout: .seconds(15)) {
            $0.contains("dnstap sender connected")
        }
        try #require(connected, "no dnstap sender connected: \(agent.process.stderr)")
    }

    @Test("the agent killed while unbound sends: unbound goes on answering, and a new agent gets its dnstap again")
    func agentKilledAndRestarted() async throws {
        let lab = try Lab(prefix: "i20")
        defer { try? lab.teardown() }
        try await startAnsweringServer(lab, delayMs: 0)
        let socket = "/tmp/\(lab.id)-dnstap.sock"
        let first = try await AgentProcess(config: dnstapConfig(socket))
        let unbound = try await startUnbound(lab, socket: socket)
        try await waitForSender(first)
        _ = try dig(lab, ["before.cache.test"])
        _ = await first.process.stop(signal: SIGKILL)
        // Answers go on without the agent, misses and hits alike.
        let during = try dig(lab, (0..<20).map { "during\($0 / 2).cache.test" })
        #expect(during.count == 20 && unbound.isRunning)

        let second = try await AgentProcess(config: dnstapConfig(socket))
        try await waitForSender(second)
        let after = try dig(lab, ["after.cache.test", "after.cache.test"])
        try await Task.sleep(for: .milliseconds(1500))
        let records = try await second.stop()
        let miss = try clientLookup(records, after[0], lab: lab)
        let hit = try clientLookup(records, after[1], lab: lab)
        #expect(miss.dnsServerSource == .dnstap && miss.dnsCacheHit == false)
        #expect(hit.dnsServerSource == .dnstap && hit.dnsCacheHit == true)
    }
}
