import DNSFlowCore
import Foundation
import Testing

/// DNS health on the real kernel with glibc's resolver: search-path resolutions, retries.
@Suite("DNS health", .serialized)
struct DNSHealthTests {
    /// The agent's test config with DNS health on.
    static func config(extra: String = "") -> String {
        AgentProcess.config(extra: extra).replacingOccurrences(
            of: "features: [DNSTracking]", with: "features: [DNSTracking, DNSHealth]")
    }

    /// dnsmasq on the lab's server answering `web` (10.9.9.7) and NXDOMAIN for every name under .test.
    static func startWebServer(_ lab: Lab) throws {
        try lab.start(
            lab.server,
            """
            dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
            --listen-address=\(lab.serverAddr) --local=/test/ --host-record=web,10.9.9.7 --pid-file= --log-facility=-
            """)
        for _ in 0..<100 where !((try? lab.run(lab.server, "ss -uln")) ?? "").contains("\(lab.serverAddr):53 ") {
            usleep(50_000)
        }
    }

    @Test("getent ahosts web with ndots:5 and three search domains: one resolution, six wasted tries")
    func searchExpansion() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try """
        nameserver \(lab.serverAddr)
        search a.test b.test svc.test
        options ndots:5 attempts:1 timeout:2
        """.write(toFile: "/etc/netns/\(lab.client)/resolv.conf", atomically: true, encoding: .utf8)
        try Self.startWebServer(lab)
        // A process that stays in the client's namespace, with its resolv.conf mounted, for the agent to read.
        try lab.start(lab.client, "sleep 600")
        let agent = try await AgentProcess(config: Self.config())
        #expect(try lab.run(lab.client, "getent ahosts web").contains("10.9.9.7"))
        try await Task.sleep(for: .milliseconds(2_500))
        let records = try await agent.stop()
        let mine = records.filter { $0.srcAddr.text == lab.clientAddr }

        let tries = mine.filter { $0.recordType == .dnsTransaction && $0.requester?.comm == "getent" }
        #expect(
            Set(tries.compactMap(\.dnsName)) == ["web.a.test", "web.b.test", "web.svc.test", "web"],
            "the transactions stay records of their own")
        let resolutions = mine.filter { $0.recordType == .dnsResolution }
        #expect(resolutions.count == 1, "\(resolutions)")
        let resolution = try #require(resolutions.first)
        #expect(resolution.dnsBaseName == "web" && resolution.dnsName == "web")
        #expect(resolution.dnsFlagsResponseCode == .noError)
        #expect(resolution.dnsAnswers?.addresses.map(\.text) == ["10.9.9.7"])
        #expect(resolution.requester?.comm == "getent")
        #expect(resolution.dnsTries.count == 8, "A and AAAA for each of four names: \(resolution.dnsTries)")
        let failed = resolution.dnsTries.filter { $0.name != "web" }
        #expect(failed.count == 6 && failed.allSatisfy { $0.rcode == .nameError })
        #expect(Set(resolution.dnsTries.map(\.id)) == Set(tries.compactMap(\.dnsId)), "the tries are the transactions")
        #expect(resolution.dnsWastedQueries == 6)
        let wastedNs = try #require(resolution.dnsWastedNs)
        let firstStart = tries.map(\.timeFlowStartMs).min()!
        let webStart = tries.filter { $0.dnsName == "web" }.map(\.timeFlowStartMs).min()!
        #expect(wastedNs == UInt64(webStart - firstStart) * 1_000_000)
        #expect(resolution.dnsSearchFix == .trailingDot)
        #expect(resolution.netNs == (try lab.inode(lab.client)))
    }

    @Test("a DNS server that stops reading its socket: its namespace's RcvbufErrors rise in /metrics with timeouts")
    func rcvbufErrors() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        // Reads nothing, with a receive buffer of a few datagrams.
        let path = "/tmp/\(lab.id)-deaf.py"
        try """
        import socket, time
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        s.bind(('\(lab.serverAddr)', 53))
        time.sleep(600)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let server = try lab.start(lab.server, "python3 -u \(path)")
        for _ in 0..<100 where !((try? lab.run(lab.server, "ss -uln")) ?? "").contains("\(lab.serverAddr):53 ") {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(server.isRunning)
        let port = AgentProcess.metricsPort()
        let agent = try await AgentProcess(config: Self.config(extra: "    metrics: {port: \(port)}"))
        func metric(_ name: String) throws -> Double? {
            let text = try sh(
                "curl -sf --retry 20 --retry-connrefused --retry-delay 0 --retry-max-time 10 http://127.0.0.1:\(port)/metrics"
            )
            let line = text.split(separator: "\n").first {
                $0.hasPrefix(name) && (!name.contains("netns") || $0.contains("namespace=\"\(lab.server)\""))
            }
            return line?.split(separator: " ").last.flatMap { Double($0) }
        }
        let timeoutsBefore = try metric("dnsflow_dns_timeouts_total") ?? 0
        // 300 queries on one socket, as fast as it sends: a few fit the server's buffer, the rest are dropped.
        let sender = "/tmp/\(lab.id)-blast.py"
        try """
        import socket, struct
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(300):
            name = b''.join(bytes([len(l)]) + l for l in [b'q%d' % i, b'example', b'test']) + b'\\0'
            s.sendto(struct.pack('>HHHHHH', i + 1, 0x0100, 1, 0, 0, 0) + name + struct.pack('>HH', 1, 1), ('\(lab.serverAddr)', 53))
        """.write(toFile: sender, atomically: true, encoding: .utf8)
        _ = try lab.run(lab.client, "python3 \(sender)")
        // Timeouts expire after dnsTimeout (2 s); the sockets are read every 5 s.
        var rcvbuf: Double? = nil
        for _ in 0..<40 where (rcvbuf ?? 0) == 0 {
            try await Task.sleep(for: .milliseconds(500))
            rcvbuf = try metric("dnsflow_netns_udp_rcvbuf_errors")
        }
        let timeouts = try metric("dnsflow_dns_timeouts_total") ?? 0
        _ = try await agent.stop()
        let kernel = try lab.run(lab.server, "nstat -az UdpRcvbufErrors")
        #expect((rcvbuf ?? 0) > 0, "the server's namespace shows RcvbufErrors (kernel: \(kernel))")
        #expect(timeouts - timeoutsBefore > 0, "and the queries timed out")
    }

    @Test("dig of 200 base32 labels under one domain flags that client; 200 ordinary lookups from another do not")
    func tunnelling() async throws {
        let lab = try Lab()
        defer { try? lab.teardown() }
        try await lab.startDNSServer()
        let tunnel = "/tmp/\(lab.id)-tunnel.txt"
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        try (0..<200).map { _ in
            String((0..<52).map { _ in alphabet.randomElement(using: &generator)! }) + ".t.example.test A"
        }.joined(separator: "\n").write(toFile: tunnel, atomically: true, encoding: .utf8)
        let ordinary = "/tmp/\(lab.id)-ordinary.txt"
        let hosts = ["www", "api", "cdn-eu-west-1", "static", "img-7f3a9c", "login", "auth", "mail"]
        let domains = (1...25).map { "shop\($0).example.test" }
        try (0..<200).map { "\(hosts[$0 % hosts.count]).\(domains[$0 % domains.count]) A" }
            .joined(separator: "\n").write(toFile: ordinary, atomically: true, encoding: .utf8)
        let agent = try await AgentProcess(config: Self.config())
        let digs = "dig +tries=1 +time=1 +noall @\(lab.serverAddr) -f"
        _ = try lab.run(lab.client, "\(digs) \(tunnel)")
        _ = try lab.run(lab.client, "\(digs) \(ordinary)")
        try await Task.sleep(for: .milliseconds(1_500))
        let records = try await agent.stop()
        let mine = records.filter { $0.srcAddr.text == lab.clientAddr }
        let lookups = mine.filter { $0.recordType == .dnsTransaction && $0.requester?.comm == "dig" }
        #expect(lookups.count == 400, "every lookup seen")
        let alerts = mine.filter { $0.recordType == .dnsAlert }
        #expect(alerts.count == 1, "\(alerts.map(\.dnsAlertReason))")
        let alert = try #require(alerts.first)
        #expect(alert.dnsName == "example.test" && alert.requester?.comm == "dig")
        let tunnelPid = lookups.first { $0.dnsName?.hasSuffix(".t.example.test") == true }?.requester?.pid
        #expect(alert.requester?.pid == tunnelPid, "the client that tunnelled, not the other")
        #expect(alert.dnsAlertReason?.contains("unique subdomains within a minute") == true)
    }
}
