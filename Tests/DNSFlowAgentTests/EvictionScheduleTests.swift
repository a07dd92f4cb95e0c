import Testing

@testable import DNSFlowAgent

@Suite struct EvictionScheduleTests {
    private typealias Schedule = EvictionSchedule<ManualClock.Instant>

    private func at(_ milliseconds: Int) -> ManualClock.Instant {
        ManualClock.Instant(offset: .milliseconds(milliseconds))
    }

    private func schedule(eviction: Duration = .seconds(5), dnsTimeout: Duration = .seconds(5)) -> Schedule {
        Schedule(intervals: .init(eviction: eviction, dnsTimeout: dnsTimeout), now: at(0))
    }

    /// Ticks every 50 ms, as the evictor does, up to `end`; returns each action with its time.
    private func run(_ schedule: inout Schedule, until end: Int) -> [(Int, Schedule.Action)] {
        stride(from: 50, through: end, by: 50).flatMap { time in schedule.tick(now: at(time)).map { (time, $0) } }
    }

    @Test func betweenDueTimesOnlyTheFullWindowIsChecked() {
        var schedule = schedule()
        #expect(schedule.tick(now: at(0)) == [.exportIfFull])
        #expect(schedule.tick(now: at(200)) == [.exportIfFull])
    }

    @Test func theHeapIsTrimmedEvery250Milliseconds() {
        var schedule = schedule()
        let trims = run(&schedule, until: 2_000).filter { $0.1 == .trimHeap }.map(\.0)
        #expect(trims == [250, 500, 750, 1_000, 1_250, 1_500, 1_750, 2_000])
    }

    @Test(arguments: [
        (Duration.seconds(5), Duration.seconds(5), Duration.milliseconds(500)),
        (.seconds(5), .milliseconds(500), .milliseconds(100)),
        (.seconds(1), .seconds(60), .seconds(1)),
    ])
    func queriesExpireEveryTenthOfTheTimeoutWithinBounds(eviction: Duration, timeout: Duration, expiry: Duration) {
        #expect(Schedule.Intervals(eviction: eviction, dnsTimeout: timeout).expiry == expiry)
    }

    @Test func anEvictionComesAfterTheExpiryAndReleasesStartupPagesOnce() {
        var schedule = schedule(eviction: .seconds(1))
        #expect(schedule.tick(now: at(1_000)) == [.expireQueries, .evict, .releaseStartupPages, .trimHeap])
        #expect(schedule.tick(now: at(2_000)) == [.expireQueries, .evict, .trimHeap])
    }

    @Test func evictionsComeEveryActiveTimeoutWithTheFullCheckBetween() {
        var schedule = schedule(eviction: .seconds(1))
        let actions = run(&schedule, until: 3_000)
        #expect(actions.filter { $0.1 == .evict }.map(\.0) == [1_000, 2_000, 3_000])
        #expect(actions.filter { $0.1 == .exportIfFull }.count == 60 - 3)
        #expect(actions.filter { $0.1 == .expireQueries }.map(\.0) == [500, 1_000, 1_500, 2_000, 2_500, 3_000])
    }

    @Test func aLateTickDoesEachJobOnceAndCountsOnFromThere() {
        var schedule = schedule(eviction: .seconds(1))
        #expect(schedule.tick(now: at(10_000)) == [.expireQueries, .evict, .releaseStartupPages, .trimHeap])
        #expect(schedule.tick(now: at(10_900)) == [.expireQueries, .exportIfFull, .trimHeap])
        #expect(schedule.tick(now: at(11_000)).contains(.evict))
    }
}
