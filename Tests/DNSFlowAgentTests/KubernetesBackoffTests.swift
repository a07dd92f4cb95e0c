import Testing

@testable import DNSFlowAgent

struct KubernetesBackoffTests {
    @Test("delays double from 0.5 s to at most 30 s, each in its upper half, and start over after a success")
    func doublesAndResets() {
        var backoff = ReconnectBackoff()
        let ceilings = (0..<9).map { _ in backoff.delayAfterFailure(random: 1) }
        #expect(ceilings == [0.5, 1, 2, 4, 8, 16, 30, 30, 30].map { Duration.milliseconds(Int($0 * 1000)) })
        #expect(backoff.delayAfterFailure(random: 0) == .seconds(15), "the lower bound is half the ceiling")
        backoff.succeeded()
        #expect(backoff.delayAfterFailure(random: 1) == .milliseconds(500))
    }
}
