import DNSFlowCore
import Testing

struct StageJoinerTests {
    typealias Fixture = FlowAssemblerTests

    @Test func idsReusedOnOneSocketAreTransactionsOfTheirOwn() {
        // A resolver that wraps its ids: the same key twice in a window, a second apart.
        let views = [
            Fixture.view(1, .answered(latencyNs: 400_000), netNs: 1),
            Fixture.view(1, .answered(latencyNs: 300_000), netNs: 2, start: 1_000_050_000),
            Fixture.view(1, .answered(latencyNs: 400_000), netNs: 1, start: 2_000_000_000),
            Fixture.view(1, .answered(latencyNs: 300_000), netNs: 2, start: 2_000_050_000),
        ]
        var joiner = StageJoiner()
        let transactions = joiner.join(views.shuffled(), nowNs: nil)
        #expect(transactions.map { $0.stages.map(\.observation.netNs) } == [[1, 2], [1, 2]])
        #expect(transactions.map(\.client.startNs) == [1_000_000_000, 2_000_000_000])
    }

    @Test func aPairingSeenTwiceIsTwoTransactions() {
        // Overlapping in time, but one namespace cannot pair one 5-tuple twice in one lookup.
        let views = [
            Fixture.view(2, .answered(latencyNs: 900_000), netNs: 1),
            Fixture.view(2, .answered(latencyNs: 100_000), netNs: 1, start: 1_000_500_000),
        ]
        var joiner = StageJoiner()
        #expect(joiner.join(views, nowNs: nil).count == 2)
    }

    @Test func orphansOfOneKeyAreOneTransactionClientFirst() {
        // The response reaches the server's namespace first, the client's 100 µs later.
        let views = [
            Fixture.view(6, .orphan, netNs: 2, start: 1_000_000_000),
            Fixture.view(6, .orphan, netNs: 1, start: 1_000_100_000),
            Fixture.view(6, .orphan, netNs: 1, start: 3_000_000_000),
        ]
        var joiner = StageJoiner()
        let transactions = joiner.join(views, nowNs: nil)
        #expect(transactions.map { $0.stages.map(\.observation.netNs) } == [[1, 2], [1]])
    }

    @Test func aRecentTransactionWaitsOneWindow() {
        let now: Int64 = 1_000_700_000 + 50_000_000
        let server = Fixture.view(3, .answered(latencyNs: 500_000), netNs: 2, start: 1_000_100_000)
        let client = Fixture.view(3, .answered(latencyNs: 700_000), netNs: 1)
        let old = Fixture.view(4, .answered(latencyNs: 700_000), netNs: 1, start: 500_000_000)
        var joiner = StageJoiner(grace: .milliseconds(100))
        // The server's view came in this window; the client's was still in the ring.
        #expect(joiner.join([server, old], nowNs: now).map(\.client.id) == [4])
        #expect(joiner.heldCount == 1)
        let next = joiner.join([client], nowNs: now + 10_000_000)
        #expect(next.map { $0.stages.map(\.observation.netNs) } == [[1, 2]], "held once, then out however young")
        #expect(joiner.heldCount == 0)
    }

    @Test func theLastWindowHoldsNothing() {
        var joiner = StageJoiner()
        let view = Fixture.view(5, .answered(latencyNs: 500_000))
        #expect(joiner.join([view], nowNs: view.endNs).isEmpty)
        #expect(joiner.join([], nowNs: nil).count == 1)
    }
}
