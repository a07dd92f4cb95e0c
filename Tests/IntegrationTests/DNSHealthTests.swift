import DNSFlowCore
import Foundation
import Testing

/// DNS health on the real kernel with glibc's resolver: search-path resolutions, retries.
@Suite("DNS health", .serialized)
struct DNSHealthTests {
    /// The agent's test config with DNS health on.
    static func config() -> String {
        AgentProcess.config().replacingOccurrences(
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
}
