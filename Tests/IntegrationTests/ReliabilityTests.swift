import DNSFlowCore
import Foundation
import Testing

/// What a user checks when things go wrong: hostile DNS packets, a full flow map, the collector
/// away, a SIGKILLed agent. Each test is bounded (< 30 s) and sends traffic only inside its lab.
@Suite(.serialized)
struct ReliabilityTests {
    init() throws {
        try #require(getuid() == 0, "integration tests load BPF programs and make network namespaces: run as root")
    }

    /// An agent with /metrics on a random port.
    static func agent(
        extra: String = "", ebpf: String = "", activeTimeout: String = "500ms", dnsTimeout: String = "2s",
        maxPending: Int = 16_384, exporters: String = "    - type: Stdout"
    ) async throws -> (AgentProcess, Int) {
        let port = AgentProcess.metricsPort()
        var lines = "    metrics: {port: \(port)}"
        if !ebpf.isEmpty { lines = ebpf + "\n" + lines }
        if !extra.isEmpty { lines += "\n" + extra }
        let agent = try await AgentProcess(
            config: AgentProcess.config(
                activeTimeout: activeTimeout, dnsTimeout: dnsTimeout, maxPending: maxPending, extra: lines,
                exporters: exporters))
        return (agent, port)
    }

    /// The values of one metric family, by label text (`reason="dns_short"`), or "" without labels.
    static func metrics(_ port: Int, _ family: String) -> [String: Double] {
        metrics(port, [family])[family] ?? [:]
    }

    /// Several families from one scrape, so that their values are read at the same moment.
    static func metrics(_ port: Int, _ families: [String]) -> [String: [String: Double]] {
        guard let text = try? sh("curl -sf http://127.0.0.1:\(port)/metrics") else { return [:] }
        var values: [String: [String: Double]] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[1]) else { continue }
            let name = parts[0]
            let brace = name.firstIndex(of: "{")
            let family = String(name[..<(brace ?? name.endIndex)])
            guard families.contains(family) else { continue }
            let labels = brace.map { String(name[name.index(after: $0)..<name.index(before: name.endIndex)]) } ?? ""
            values[family, default: [:]][labels] = value
        }
        return values
    }

    static func kernelEvent(_ port: Int, _ reason: String) -> Double {
        metrics(port, "dnsflow_kernel_events_total")["reason=\"\(reason)\""] ?? 0
    }

    /// Polls (bounded) until the kernel counters meet `minimums`; returns the last values.
    static func waitForKernelEvents(
        _ port: Int, _ minimums: [String: Double], timeout: Duration = .seconds(5)
    ) async -> [String: Double] {
        let deadline = ContinuousClock.now + timeout
        var seen: [String: Double] = [:]
        while ContinuousClock.now < deadline {
            seen = Dictionary(uniqueKeysWithValues: minimums.keys.map { ($0, kernelEvent(port, $0)) })
            if minimums.allSatisfy({ seen[$0.key, default: 0] >= $0.value }) { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return seen
    }

    /// Malformed DNS over UDP and TCP, shared with bench/soak.py.
    static let hostileDNS = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appending(path: "../../bench/hostile_dns.py").standardized.path

    static func write(_ lab: Lab, _ name: String, _ script: String) throws -> String {
        let path = "/tmp/\(lab.id)-\(name).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: 1. Hostile packets

    @Test("malformed queries are counted by reason or exported with no DnsName; the agent survives")
    func malformedQueries() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let (agent, port) = try await Self.agent(dnsTimeout: "1s")
        _ = try lab.run(lab.client, "timeout 10 python3 \(Self.hostileDNS) \(lab.serverAddr) udp")
        let counts = await Self.waitForKernelEvents(port, ["dns_short": 1, "dns_bad_qdcount": 3])
        // A normal lookup afterwards is still tracked.
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(1800))  // unanswered queries time out (1 s) and go out
        let badQuestions = Self.metrics(port, "dnsflow_dns_bad_questions_total")[""] ?? 0
        let records = try await agent.stop()  // throws unless the exit status is 0

        #expect(counts["dns_short", default: 0] >= 1, "the 5-byte header: \(counts)")
        // qdcount 0, qdcount 65535, and the HTTP request ("/ " where qdcount sits).
        #expect(counts["dns_bad_qdcount", default: 0] >= 3, "\(counts)")
        let client = try lab.inode(lab.client)
        for id: UInt16 in [0x1003, 0x1004, 0x1005, 0x1006] {
            let views = records.filter { $0.dnsId == id && $0.netNs == client }
            #expect(!views.isEmpty, "id \(id) not exported")
            #expect(views.allSatisfy { $0.dnsName == nil && $0.dnsQType == nil }, "id \(id): \(views.map(\.dnsName))")
        }
        #expect(!records.contains { $0.dnsId == 0x1001 || $0.dnsId == 0x1002 }, "a qdcount != 1 message was tracked")
        #expect(badQuestions >= 4, "dnsflow_dns_bad_questions_total \(badQuestions)")
        let dig = try #require(digHeader(output))
        #expect(
            records.contains {
                $0.dnsId == dig.id && $0.netNs == client && $0.dnsName == "a.example.test" && $0.dnsLatencyMs != nil
            })
    }

    /// A UDP DNS "server" with misbehaviours chosen by the query id: 0xAAAA is answered twice;
    /// 0x7777 is ignored the first time; 0x7171's first answer leaves with a TTL of 1, so the
    /// router drops it; every other query waits for a second one, which is then answered at once
    /// and the first 40 ms later (reordered responses).
    static func startTrickyServer(_ lab: Lab) async throws {
        let script = try write(
            lab, "tricky",
            #"""
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(('\#(lab.serverAddr)', 53))
            def answer(q, peer, ttl=64):
                r = bytearray(q[:12]); r[2] = 0x81; r[3] = 0x80
                s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
                s.sendto(bytes(r) + q[12:], peer)
            held, seen = None, set()
            while True:
                q, peer = s.recvfrom(4096)
                i = q[0] << 8 | q[1]
                if i == 0xAAAA:
                    answer(q, peer); answer(q, peer)
                elif i == 0x7777:
                    if i in seen: answer(q, peer)
                    seen.add(i)
                elif i == 0x7171:
                    answer(q, peer, 64 if i in seen else 1)
                    seen.add(i)
                elif held is None:
                    held = (q, peer)
                else:
                    answer(q, peer); time.sleep(0.04); answer(*held); held = None
            """#)
        let process = try lab.start(lab.server, "python3 -u \(script)")
        for _ in 0..<100 {
            if let out = try? lab.run(lab.server, "ss -uln"), out.contains(":53 ") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ShellError(command: "tricky server", status: -1, stderr: process.stderr)
    }

    @Test("duplicated, reordered, same-id and orphan responses are each paired with their own query")
    func pairing() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await Self.startTrickyServer(lab)
        let (agent, port) = try await Self.agent(dnsTimeout: "1s")
        let script = try Self.write(
            lab, "pairs",
            #"""
            import socket, struct, time, sys
            S = ('\#(lab.serverAddr)', 53)
            def query(i, name):
                q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\x00\x00\x01\x00\x01'
                return struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + q
            def sock(port=0):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.bind(('', port)); return s
            # Answered twice.
            a = sock(); a.sendto(query(0xAAAA, 'dup.example.test'), S); a.recvfrom(512); a.recvfrom(512)
            # Two queries on one socket, answered in reverse order.
            r = sock(); r.sendto(query(0xB001, 'first.example.test'), S); r.sendto(query(0xB002, 'second.example.test'), S)
            r.recvfrom(512); r.recvfrom(512)
            # Two clients behind one address, same id.
            c1, c2 = sock(41001), sock(41002)
            c1.sendto(query(0xC0C0, 'one.example.test'), S); time.sleep(0.01); c2.sendto(query(0xC0C0, 'two.example.test'), S)
            c2.recvfrom(512); c1.recvfrom(512)
            print('ok')
            """#)
        let orphan = try Self.write(
            lab, "orphan",
            #"""
            import socket, struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('\#(lab.serverAddr)', 5353))
            s.sendto(struct.pack('>HHHHHH', 0xD00D, 0x8180, 1, 0, 0, 0) + b'\x01o\x00\x00\x01\x00\x01', ('\#(lab.clientAddr)', 41004))
            """#)
        #expect(try lab.run(lab.client, "timeout 15 python3 \(script)") == "ok\n")
        // From port 5353 (a DNS port in the test config): port 53 belongs to the tricky server.
        try lab.run(lab.server, "timeout 5 python3 \(orphan)")
        // The orphan is seen in the server's, the router's and the client's namespaces.
        let counts = await Self.waitForKernelEvents(port, ["dns_response_seen_again": 1, "dns_orphan_response": 3])
        try await Task.sleep(for: .milliseconds(800))
        let records = try await agent.stop()
        #expect(counts["dns_response_seen_again", default: 0] >= 1, "\(counts)")
        #expect(counts["dns_orphan_response", default: 0] >= 3, "\(counts)")

        func responses(_ id: UInt16) -> [FlowRecord] {
            records.filter { $0.isTransaction && $0.dnsId == id && $0.srcAddr.text == lab.clientAddr }
        }
        // Duplicate: one answered transaction, not two, and no orphan.
        let dup = responses(0xAAAA)
        #expect(dup.count == 1 && dup.first?.dnsErrno == 0 && dup.first?.dnsLatencyMs != nil, "\(dup)")
        // Reordered: the first query waited 40 ms more than the second.
        let first = try #require(responses(0xB001).first?.dnsLatencyMs)
        let second = try #require(responses(0xB002).first?.dnsLatencyMs)
        #expect(first >= 40 && second < 40, "first \(first) ms, second \(second) ms")
        #expect(
            responses(0xB001).first?.dnsName == "first.example.test"
                && responses(0xB002).first?.dnsName == "second.example.test")
        // Same id from two ports: each its own latency (port 41001 answered 40 ms after 41002).
        let same = responses(0xC0C0)
        let one = try #require(same.first { $0.srcPort == 41001 }?.dnsLatencyMs)
        let two = try #require(same.first { $0.srcPort == 41002 }?.dnsLatencyMs)
        #expect(same.count == 2 && one >= 40 && two < 40, "41001: \(one) ms, 41002: \(two) ms")
        #expect(same.allSatisfy { $0.dnsErrno == 0 })
        // Orphan: reported with errno 2 and no latency.
        let orphanView = try #require(responses(0xD00D).first, "\(records.filter { $0.dnsId == 0xD00D })")
        #expect(orphanView.dnsErrno == 2 && orphanView.dnsLatencyMs == nil && orphanView.dnsName == "o")
    }

    @Test("an id and 5-tuple reused after the query timed out, before the next eviction, is a new transaction")
    func idReusedAfterTimeout() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await Self.startTrickyServer(lab)
        // Evictions every 3 s: the reuse 1.5 s after the first query falls between two.
        let (agent, _) = try await Self.agent(activeTimeout: "3s", dnsTimeout: "1s")
        let script = try Self.write(
            lab, "reuse",
            #"""
            import socket, struct, time
            def query(i):
                return struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + b'\x04late\x07example\x04test\x00\x00\x01\x00\x01'
            socks = {}
            for i, port in ((0x7777, 41003), (0x7171, 41005)):  # never answered; answer lost on the way
                socks[i] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); socks[i].settimeout(2); socks[i].bind(('', port))
                socks[i].sendto(query(i), ('\#(lab.serverAddr)', 53))
            time.sleep(1.5)
            for i, s in socks.items():
                s.sendto(query(i), ('\#(lab.serverAddr)', 53)); s.recvfrom(512)
            print('ok')
            """#)
        #expect(try lab.run(lab.client, "timeout 10 python3 \(script)") == "ok\n")
        let records = try await agent.stop()
        let client = try lab.inode(lab.client)
        for id: UInt16 in [0x7777, 0x7171] {
            let views = records.filter { $0.dnsId == id && $0.netNs == client }
            #expect(
                views.contains { $0.dnsErrno == 110 && $0.srcAddr.text == lab.clientAddr },
                "id \(id): no timeout reported: \(views)")
            let answered = views.filter { $0.dnsErrno == 0 && $0.dnsLatencyMs != nil }
            #expect(
                answered.count == 1 && answered.allSatisfy { $0.dnsLatencyMs! < 40 },
                "id \(id) timed from the first query: \(answered)")
        }
        // The router saw the first 0x7171 answered before dropping it: two transactions there, each timed on its own.
        let router = records.filter { $0.dnsId == 0x7171 }.flatMap(\.dnsStages).filter {
            $0.netNs == (try? lab.inode(lab.router)) && $0.latencyNs != nil
        }
        #expect(router.count == 2 && router.allSatisfy { $0.latencyNs! < 40_000_000 }, "\(router)")
    }

    @Test("under steady load, queries answered within the timeout are never expired early, nor their answers orphaned")
    func expiryUnderLoad() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        // Expiry walks the pending map every 100 ms while queries arrive every 0.5 ms: a query
        // inserted during a walk must not be taken for an old one.
        let (agent, _) = try await Self.agent(activeTimeout: "1s", dnsTimeout: "500ms")
        let perf = try lab.dnsperf("-c 1 -Q 2000 -l 5")
        try await Task.sleep(for: .milliseconds(1500))
        let records = try await agent.stop()
        let namespaces = try [lab.client, lab.router, lab.server].map(lab.inode)
        let ours = records.filter { namespaces.contains($0.netNs) && $0.isTransaction }
        #expect(perf.lost == 0, "\(perf.text)")
        let failed = ours.filter { ($0.dnsErrno ?? 0) != 0 }
        #expect(failed.isEmpty, "\(failed.count) lookups reported as timeouts or orphans, e.g. \(failed.prefix(4))")
        #expect(ours.count == perf.completed)
        #expect(ours.flatMap(\.dnsStages).filter { $0.latencyNs != nil }.count == 3 * perf.completed)
    }

    @Test("IPv4 options and IPv6 extension headers still pair; later fragments of a DNS message are counted")
    func optionsExtensionHeadersFragments() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        let v6 = (client: lab.clientAddr6, server: lab.serverAddr6)
        // An answering server on both families (dnsmasq binds only the lab's IPv4 address).
        let server = try Self.write(
            lab, "echo",
            #"""
            import socket, select
            socks = []
            for fam, addr in ((socket.AF_INET, '\#(lab.serverAddr)'), (socket.AF_INET6, '\#(v6.server)')):
                s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((addr, 53)); socks.append(s)
            while True:
                for s in select.select(socks, [], [])[0]:
                    q, peer = s.recvfrom(65535)
                    r = bytearray(q[:12]); r[2] = 0x81; r[3] = 0x80
                    s.sendto(bytes(r) + q[12:], peer)
            """#)
        let process = try lab.start(lab.server, "python3 -u \(server)")
        for _ in 0..<100 {
            if ((try? lab.run(lab.server, "ss -uln")) ?? "").contains("[\(v6.server)]:53") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(process.isRunning)
        let (agent, port) = try await Self.agent()
        let client = try Self.write(
            lab, "client",
            #"""
            import socket, struct
            def query(i, name, pad=0):
                q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\x00\x00\x01\x00\x01'
                return struct.pack('>HHHHHH', i, 0x0100, 1, 0, 0, 0) + q + b'\x00' * pad
            def ask(fam, addr, i, name, setup, pad=0):
                s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(2); setup(s)
                s.sendto(query(i, name, pad), (addr, 53)); s.recvfrom(65535)
            # IPv4 options: NOP NOP NOP EOL (IHL 6).
            ask(socket.AF_INET, '\#(lab.serverAddr)', 0x4444, 'opt.example.test',
                lambda s: s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b'\x01\x01\x01\x00'))
            # IPv6 hop-by-hop and destination options headers (PadN each), then UDP.
            pad6 = b'\x00\x00\x01\x04\x00\x00\x00\x00'
            def ext(s):
                s.setsockopt(socket.IPPROTO_IPV6, 54, pad6)  # IPV6_HOPOPTS
                s.setsockopt(socket.IPPROTO_IPV6, 59, pad6)  # IPV6_DSTOPTS
            ask(socket.AF_INET6, '\#(v6.server)', 0x6666, 'ext.example.test', ext)
            # 3,000-byte messages on 1,500-byte links: the kernel fragments them (IPv4 and IPv6).
            ask(socket.AF_INET, '\#(lab.serverAddr)', 0xF4F4, 'frag.example.test',
                lambda s: s.setsockopt(socket.IPPROTO_IP, 10, 0), pad=3000)  # IP_MTU_DISCOVER: DONT
            ask(socket.AF_INET6, '\#(v6.server)', 0xF6F6, 'frag6.example.test', lambda s: None, pad=3000)
            print('ok')
            """#)
        #expect(try lab.run(lab.client, "timeout 15 python3 \(client)") == "ok\n")
        let counts = await Self.waitForKernelEvents(port, ["dns_fragment": 4])
        try await Task.sleep(for: .milliseconds(800))
        let records = try await agent.stop()
        let clientNs = try lab.inode(lab.client)
        for (id, name, etype) in [
            (UInt16(0x4444), "opt.example.test", UInt16(2048)), (0x6666, "ext.example.test", 34525),
        ] {
            let view = records.first { $0.dnsId == id && $0.netNs == clientNs && $0.dnsLatencyMs != nil }
            #expect(
                view?.dnsName == name && view?.dnsErrno == 0 && view?.etype == etype,
                "id \(id): \(String(describing: view))")
            let bad = records.filter { $0.dnsId == id && ($0.dnsErrno ?? 0) != 0 }
            #expect(bad.isEmpty, "id \(id) timed out or orphaned: \(bad)")
        }
        // Each message has two later fragments each way, seen in three namespaces.
        #expect(counts["dns_fragment", default: 0] >= 4, "\(counts)")
        // The first fragments still carry the header and question.
        #expect(records.contains { $0.dnsId == 0xF4F4 && $0.netNs == clientNs && $0.dnsName == "frag.example.test" })
    }

    // MARK: 2. Pressure

    static func rssKiB(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("a burst of 2,000 flows into a 64-flow map is counted as flow_map_full; export goes on; RSS stays bounded")
    func flowMapFull() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let (agent, port) = try await Self.agent(ebpf: "      cacheMaxFlows: 64", activeTimeout: "1s")
        let before = Self.rssKiB(agent.process.pid)
        let burst = try Self.write(
            lab, "burst",
            #"""
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            end = time.time() + 5
            for port in range(20000, 22000):
                if time.time() > end: break
                s.sendto(b'x', ('\#(lab.serverAddr)', port))
            """#)
        _ = try lab.run(lab.client, "timeout 10 python3 \(burst)")
        let counts = await Self.waitForKernelEvents(port, ["flow_map_full": 1000], timeout: .seconds(4))
        try await Task.sleep(for: .milliseconds(1200))  // one eviction empties the map
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(1500))
        let after = Self.rssKiB(agent.process.pid)
        let records = try await agent.stop()
        #expect(counts["flow_map_full", default: 0] >= 1000, "\(counts)")
        let dig = try #require(digHeader(output))
        #expect(
            records.contains { $0.dnsId == dig.id && $0.dnsLatencyMs != nil && $0.bytes > 0 },
            "the dig after the burst was not exported")
        #expect(after > 0 && after < 80 * 1024, "VmRSS \(before) KiB before, \(after) KiB after")
    }

    // MARK: 3. The collector away

    @Test("records made while the collector is down arrive once it is up; none dropped")
    func collectorDown() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let httpPort = Int.random(in: 20_000...29_999)
        let (agent, port) = try await Self.agent(
            exporters: "    - {type: HTTP, http: {url: 'http://127.0.0.1:\(httpPort)/api/v1/flows', timeout: 2s}}")
        var ids: [UInt16] = []
        for i in 0..<5 {
            let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) n\(i).example.test A")
            ids.append(try #require(digHeader(output)).id)
            try await Task.sleep(for: .seconds(1))
        }
        let dropped = Self.metrics(port, "dnsflow_exporter_records_dropped_total")
        let collector = try await CollectorProcess(httpPort: httpPort)
        var missing = Set(ids)
        let deadline = ContinuousClock.now + .seconds(15)  // backoff is at most 5 s
        while !missing.isEmpty && ContinuousClock.now < deadline {
            for id in missing
            where (try? collector.flows(dnsId: id))?.contains(where: { $0.dnsLatencyMs != nil }) == true {
                missing.remove(id)
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let droppedAfter = Self.metrics(port, "dnsflow_exporter_records_dropped_total")
        _ = try await agent.stop()
        await collector.stop()
        #expect(missing.isEmpty, "ids sent while the collector was down never arrived: \(missing)")
        #expect(
            dropped.values.allSatisfy { $0 == 0 } && droppedAfter.values.allSatisfy { $0 == 0 },
            "\(dropped) \(droppedAfter)")
    }

    @Test(
        "a collector answering 500, then too slowly, for 10 s: records wait, are retried with backoff and arrive once")
    func collectorFailing() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let collector = try await FakeCollector(
            lab, verdict: "return (0, 500) if elapsed < 5 else (3, 500) if elapsed < 10 else (0, 200)")
        let (agent, port) = try await Self.agent(
            exporters: "    - {type: HTTP, http: {url: '\(collector.url)', timeout: 1s}}")
        var ids: [UInt16] = []
        for i in 0..<5 {
            let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) n\(i).example.test A")
            ids.append(try #require(digHeader(output)).id)
            try await Task.sleep(for: .seconds(1))
        }
        let client = try lab.inode(lab.client)
        func delivered() -> [FlowRecord] {
            collector.stored.compactMap { try? FlowRecordJSON.decodeArray(Array("[\($0)]".utf8)).first }
                .filter { ids.contains($0.dnsId ?? 0) && $0.netNs == client && $0.dnsLatencyMs != nil }
        }
        let deadline = ContinuousClock.now + .seconds(20)  // good from 10 s; the backoff is at most 5 s
        while Set(delivered().compactMap(\.dnsId)).count < ids.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let dropped = Self.metrics(port, "dnsflow_exporter_records_dropped_total")["exporter=\"http\""]
        _ = try await agent.stop()

        #expect(delivered().compactMap(\.dnsId).sorted() == ids.sorted(), "each dig's view once: \(delivered())")
        let stored = collector.stored
        #expect(Set(stored).count == stored.count, "\(stored.count - Set(stored).count) records delivered twice")
        #expect(dropped == 0)
        // Doubling waits from 100 ms: a handful of attempts in 10 s, not a tight loop; some timed out.
        let failed = collector.requests.filter { $0.status != 200 }
        #expect((3...20).contains(failed.count) && failed.contains { $0.elapsed >= 5 }, "\(failed)")
    }

    // MARK: 4. SIGKILL

    @Test("a SIGKILLed agent leaves no program, link or pinned map; a new one attaches and exports")
    func sigkill() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let (first, _) = try await Self.agent()
        // This agent's programs, links and maps, by the ids in its fds (other agents may run on
        // the machine: only these must go).
        let fdinfo = try sh("cat /proc/\(first.process.pid)/fdinfo/* 2>/dev/null", check: false)
        func ids(_ key: String) -> Set<String> {
            Set(
                fdinfo.split(separator: "\n").filter { $0.hasPrefix(key + ":") }.map {
                    $0.split(separator: "\t").last.map(String.init) ?? ""
                })
        }
        let ours = (programs: ids("prog_id"), links: ids("link_id"), maps: ids("map_id"))
        #expect(ours.programs.count >= 2 && ours.links.count >= 2 && !ours.maps.isEmpty, "\(ours)")
        let status = await first.process.stop(signal: SIGKILL)
        #expect(status == 128 + SIGKILL)
        var left: [String] = []
        for _ in 0..<50 {  // freed once the last reference (the process's fds) goes
            left = []
            for (kind, set) in [("prog", ours.programs), ("link", ours.links), ("map", ours.maps)] {
                for id in set where (try? sh("bpftool \(kind) show id \(id)")) != nil { left.append("\(kind) \(id)") }
            }
            if left.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(left.isEmpty, "left in the kernel after SIGKILL: \(left)")
        let pinned = try sh(
            "find /sys/fs/bpf -name '*dnsflow*' -o -name 'dns_*' -o -name 'flows' 2>/dev/null", check: false)
        #expect(pinned.isEmpty, "pinned: \(pinned)")

        let (second, _) = try await Self.agent()
        let output = try lab.run(lab.client, "dig +tries=1 +time=2 @\(lab.serverAddr) a.example.test A")
        try await Task.sleep(for: .milliseconds(800))
        let records = try await second.stop()
        let dig = try #require(digHeader(output))
        #expect(records.contains { $0.dnsId == dig.id && $0.dnsLatencyMs != nil && $0.dnsName == "a.example.test" })
    }
}
