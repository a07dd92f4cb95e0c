/// When the evictor does each of its jobs. A state machine over the instants it is ticked at, so
/// its timing is tested without a clock or a kernel; the evictor carries out what it returns, in
/// order.
struct EvictionSchedule<Instant: InstantProtocol> where Instant.Duration == Duration {
    enum Action: Hashable, Sendable {
        /// Take the queries that waited past the DNS timeout out of the kernel.
        case expireQueries
        /// End the window: evict the kernel's flows and export them with the window's views.
        case evict
        /// No eviction is due: export the views at once if the window holds too many to wait.
        case exportIfFull
        /// Hand back the executable's pages that startup read; once, after the first eviction,
        /// when every service has started and exported.
        case releaseStartupPages
        /// Give the heap freed by assembling records back to the kernel.
        case trimHeap
    }

    struct Intervals: Hashable, Sendable {
        /// How long an eviction window lasts (`cacheActiveTimeout`).
        var eviction: Duration
        /// Unanswered queries are expired this often, not only at evictions: until a query
        /// expires, its id and 5-tuple reused are taken for its retransmission and timed from it.
        var expiry: Duration
        /// How often freed heap goes back to the kernel; bench/README.md has what each choice cost.
        var trim: Duration = .milliseconds(250)

        init(eviction: Duration, dnsTimeout: Duration) {
            self.eviction = eviction
            expiry = min(max(dnsTimeout / 10, .milliseconds(100)), eviction)
        }
    }

    let intervals: Intervals
    private var nextEviction: Instant
    private var nextExpiry: Instant
    private var nextTrim: Instant
    private var startupPagesReleased = false

    init(intervals: Intervals, now: Instant) {
        self.intervals = intervals
        nextEviction = now.advanced(by: intervals.eviction)
        nextExpiry = now.advanced(by: intervals.expiry)
        nextTrim = now.advanced(by: intervals.trim)
    }

    /// What is due at `now`: expiry first (its timeouts join the window), then the eviction or
    /// the check for a full window, then the heap trim.
    mutating func tick(now: Instant) -> [Action] {
        var actions: [Action] = []
        if now >= nextExpiry {
            actions.append(.expireQueries)
            nextExpiry = now.advanced(by: intervals.expiry)
        }
        if now >= nextEviction {
            actions.append(.evict)
            nextEviction = now.advanced(by: intervals.eviction)
            if !startupPagesReleased {
                actions.append(.releaseStartupPages)
                startupPagesReleased = true
            }
        } else {
            actions.append(.exportIfFull)
        }
        if now >= nextTrim {
            actions.append(.trimHeap)
            nextTrim = now.advanced(by: intervals.trim)
        }
        return actions
    }
}
