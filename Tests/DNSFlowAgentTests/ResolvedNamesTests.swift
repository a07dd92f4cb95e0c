import DNSFlowAgent
import DNSFlowConfig
import DNSFlowCore
import Testing

struct ResolvedNamesTests {
    typealias S = EnrichmentSamples

    @Test func aFlowGetsTheNameItsClientAskedWithinTheTTL() {
        var names = ResolvedNames(capacity: 16)
        // dig web.example.test → CNAME edge.example.test → 10.9.9.9, 10.9.9.10, TTL 30 s.
        let second = IPAddress(ipv4: 10, 9, 9, 10)
        _ = names.learn(S.transaction(answers: [S.web, second], cnames: ["edge.example.test"], ttl: 30))
        #expect(names.name(client: S.client, destination: S.web, startMs: S.t0 + 1) == "web.example.test")
        #expect(names.name(client: S.client, destination: second, startMs: S.t0 + 1) == "web.example.test")
        #expect(names.name(client: S.client, destination: S.web, startMs: S.t0 + 30_000) == "web.example.test")
        #expect(names.name(client: S.client, destination: S.web, startMs: S.t0 + 30_001) == nil, "TTL ran out")
        // Another client did not resolve it.
        #expect(names.name(client: IPAddress(ipv4: 10, 0, 0, 3), destination: S.web, startMs: S.t0 + 1) == nil)
    }

    @Test func aNewAnswerReplacesTheNameAndTheExpiry() {
        var names = ResolvedNames(capacity: 16)
        _ = names.learn(S.transaction(name: "old.example.test", ttl: 5))
        _ = names.learn(S.transaction(name: "new.example.test", ttl: 60, answeredMs: S.t0 + 4_000))
        #expect(names.name(client: S.client, destination: S.web, startMs: S.t0 + 30_000) == "new.example.test")
        #expect(names.count == 1)
    }

    @Test func nothingIsLearnedWithoutAnswersOrTTL() {
        var names = ResolvedNames(capacity: 16)
        _ = names.learn(S.transaction(answers: [], ttl: nil))  // NXDOMAIN
        var timedOut = S.transaction()
        timedOut.dnsAnswers = nil
        _ = names.learn(timedOut)
        // TTL 0: not to be kept.
        _ = names.learn(S.transaction(ttl: 0))
        #expect(names.name(client: S.client, destination: S.web, startMs: S.t0) == nil)
        #expect(names.count == 0)
    }

    @Test func theLeastRecentlyUsedMakesRoomAndLiveOnesAreCounted() {
        var names = ResolvedNames(capacity: 3)
        let addresses = (1...4).map { IPAddress(ipv4: 10, 9, 9, UInt8($0)) }
        for (index, address) in addresses.prefix(3).enumerated() {
            #expect(names.learn(S.transaction(name: "n\(index + 1).test", answers: [address])) == 0)
        }
        // Used: .1 is now the most recent, .2 the least.
        #expect(names.name(client: S.client, destination: addresses[0], startMs: S.t0 + 1) == "n1.test")
        #expect(names.learn(S.transaction(name: "n4.test", answers: [addresses[3]])) == 1)
        #expect(names.name(client: S.client, destination: addresses[1], startMs: S.t0 + 1) == nil)
        #expect(names.name(client: S.client, destination: addresses[0], startMs: S.t0 + 1) == "n1.test")
        #expect(names.name(client: S.client, destination: addresses[2], startMs: S.t0 + 1) == "n3.test")
        #expect(names.name(client: S.client, destination: addresses[3], startMs: S.t0 + 1) == "n4.test")
        #expect(names.count == 3)

        // 60 s on, every entry has expired: making room loses nothing, so nothing is counted.
        let later = S.transaction(name: "n5.test", answers: [IPAddress(ipv4: 10, 9, 9, 5)], answeredMs: S.t0 + 60_000)
        #expect(names.learn(later) == 0)
        #expect(names.count == 3)
    }

    @Test func theSizeIsInTheConfig() throws {
        #expect(AgentConfig().resolvedNames == 16_384)
        #expect(try Self.config("{resolvedNames: 1000}").resolvedNames == 1000)
    }

    @Test(arguments: ["0", "-5", "many", "20000000"])
    func badSizesNameTheKey(value: String) {
        #expect {
            _ = try Self.config("{resolvedNames: \(value)}")
        } throws: { error in
            (error as? ConfigError)?.path == "spec.agent.ebpf.dnsTracking.resolvedNames"
        }
    }

    /// The config tests' document, with `dnsTracking` set.
    private static func config(_ dnsTracking: String) throws(ConfigError) -> AgentConfig {
        try AgentConfigTests().config("      dnsTracking: \(dnsTracking)")
    }
}
