/// How long to wait before asking the API server again after a failure: doubling from `initial`
/// to `maximum`, each delay drawn in its upper half so a DaemonSet's agents, failed together
/// by one outage, do not come back together. A success starts over.
struct ReconnectBackoff: Sendable {
    var initial: Duration = .milliseconds(500)
    var maximum: Duration = .seconds(30)
    private(set) var failures = 0

    init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay after one more failure; `random` in 0...1 (injected for tests).
    mutating func delayAfterFailure(random: Double = Double.random(in: 0...1)) -> Duration {
        let ceiling = min(maximum, initial * (1 << min(failures, 20)))
        failures += 1
        return ceiling * (0.5 + random / 2)
    }

    mutating func succeeded() { failures = 0 }
}
