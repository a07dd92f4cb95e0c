import DNSFlowCore
import Testing

/// A client in namespace 1 asks a resolver in namespace 2 (10.0.0.53); the resolver forwards from
/// 10.0.1.1 to an upstream at 10.0.1.53, seen in namespaces 2 and 3.
struct UpstreamLinkerTests {
    static let client: IPAddress = "10.0.0.2"
    static let resolver: IPAddress = "10.0.0.53"
    static let resolverOut: IPAddress = "10.0.1.1"
    static let upstream: IPAddress = "10.0.1.53"

    /// An answered view of `client`:`port` asking `server`, in `netNs`, `startNs` after 1 s.
    static func view(
        _ id: UInt16, from client: IPAddress, _ port: UInt16, to server: IPAddress, netNs: UInt32, startNs: Int64,
        latencyNs: UInt64, name: String = "a.example.test", rcode: UInt16 = 0
    ) -> DNSView {
        let response = FlowKey(srcAddr: server, dstAddr: client, srcPort: 53, dstPort: port, proto: 17, etype: 0x0800)
        return DNSView(
            outcome: .answered(latencyNs: latencyNs), key: response,
            observation: Observation(netNs: netNs, interface: "veth\(netNs)", direction: 0), id: id,
            flags: 0x8180 | rcode, question: DNSQuestion(name: name, type: .a), startNs: 1_000_000_000 + startNs,
            endNs: 1_000_000_000 + startNs + Int64(latencyNs))
    }

    /// The client's lookup (id 7) at `at`, lasting `wait`, seen in the client's and the resolver's namespaces.
    static func clientLookup(
        at: Int64, wait: UInt64, id: UInt16 = 7, port: UInt16 = 40_000, name: String = "a.example.test"
    )
        -> DNSTransaction
    {
        DNSTransaction(stages: [
            view(id, from: client, port, to: resolver, netNs: 1, startNs: at, latencyNs: wait, name: name),
            view(
                id, from: client, port, to: resolver, netNs: 2, startNs: at + 20_000, latencyNs: wait - 40_000,
                name: name),
        ])
    }

    /// The resolver's own query (id 900) at `at`, lasting `wait`.
    static func upstreamLookup(
        at: Int64, wait: UInt64, id: UInt16 = 900, name: String = "a.example.test", rcode: UInt16 = 0
    )
        -> DNSTransaction
    {
        DNSTransaction(stages: [
            view(
                id, from: resolverOut, 51_000, to: upstream, netNs: 2, startNs: at, latencyNs: wait, name: name,
                rcode: rcode),
            view(
                id, from: resolverOut, 51_000, to: upstream, netNs: 3, startNs: at + 10_000, latencyNs: wait - 20_000,
                name: name, rcode: rcode),
        ])
    }

    @Test func aForwardedLookupIsAMissWithItsUpstreamAndTheUpstreamServesIt() {
        var linker = UpstreamLinker()
        let links = linker.link([
            Self.clientLookup(at: 0, wait: 41_000_000), Self.upstreamLookup(at: 100_000, wait: 40_500_000),
        ])
        #expect(links[0].cacheHit == false)
        #expect(
            links[0].upstream == [
                DNSLinkedLookup(addr: Self.upstream, port: 53, dnsId: 900, latencyNs: 40_500_000, rcode: .noError)
            ])
        #expect(links[1].serves == [DNSLinkedLookup(addr: Self.client, port: 40_000, dnsId: 7)])
        #expect(links[1].cacheHit == nil, "the upstream's own server is not a forwarder")
    }

    @Test func aLookupAnsweredWithoutUpstreamAtAKnownForwarderIsAHit() {
        var linker = UpstreamLinker()
        _ = linker.link([
            Self.clientLookup(at: 0, wait: 41_000_000), Self.upstreamLookup(at: 100_000, wait: 40_500_000),
        ])
        let later = linker.link([Self.clientLookup(at: 2_000_000_000, wait: 200_000, id: 8, port: 40_001)])
        #expect(later == [UpstreamLinker.Links(cacheHit: true)])
    }

    @Test func noClaimWhereTheResolverNeverForwarded() {
        var linker = UpstreamLinker()
        #expect(linker.link([Self.clientLookup(at: 0, wait: 200_000)]) == [UpstreamLinker.Links()])
    }

    @Test func onlyTheSameQuestionDuringTheWaitLinks() {
        var linker = UpstreamLinker()
        let links = linker.link([
            Self.clientLookup(at: 0, wait: 41_000_000),
            // Another name, and the same name after the client's answer.
            Self.upstreamLookup(at: 100_000, wait: 1_000_000, id: 901, name: "b.example.test"),
            Self.upstreamLookup(at: 50_000_000, wait: 1_000_000, id: 902),
            Self.upstreamLookup(at: 200_000, wait: 40_000_000, id: 903),
        ])
        #expect(links[0].upstream.map(\.dnsId) == [903])
        #expect(links.map(\.serves.count) == [0, 0, 0, 1])
    }

    @Test func anUpstreamOfTheLastWindowLinksAClientHeldBackPastIt() {
        var linker = UpstreamLinker()
        let first = linker.link([Self.upstreamLookup(at: 100_000, wait: 40_000_000)])
        #expect(first == [UpstreamLinker.Links()])
        let second = linker.link([Self.clientLookup(at: 0, wait: 41_000_000)])
        #expect(second[0].cacheHit == false && second[0].upstream.map(\.dnsId) == [900])
        // Carried once only.
        let third = linker.link([Self.clientLookup(at: 0, wait: 41_000_000, id: 9)])
        #expect(third[0].upstream.isEmpty)
    }

    @Test func twoClientsCoalescedOnOneUpstreamBothMissAndItServesBoth() {
        var linker = UpstreamLinker()
        let links = linker.link([
            Self.clientLookup(at: 0, wait: 41_000_000),
            Self.clientLookup(at: 50_000, wait: 40_900_000, id: 11, port: 40_002),
            Self.upstreamLookup(at: 100_000, wait: 40_500_000),
        ])
        #expect(links[0].cacheHit == false && links[1].cacheHit == false)
        #expect(Set(links[2].serves.map(\.dnsId)) == [7, 11])
    }
}
