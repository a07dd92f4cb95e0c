import Testing

@testable import DNSFlowProbe

@Suite struct ClockOffsetTests {
    /// Epoch = monotonic + 1_700_000_000 s; the reader thread preempted for 3 ms between its first
    /// two readings.
    static let trueOffsetNs: Int64 = 1_700_000_000_000_000_000

    @Test("a reading interrupted between the two clocks is not the one kept")
    func preemptedReadingIsDiscarded() {
        var readings = [
            (before: Int64(10_000_000), wall: 10_000_000 + Self.trueOffsetNs + 3_000_000, after: Int64(10_003_100)),
            (before: Int64(10_003_200), wall: 10_003_250 + Self.trueOffsetNs, after: Int64(10_003_300)),
        ][...]
        let clock = ClockOffset { readings.popFirst()! }
        #expect(clock.offsetNs == Self.trueOffsetNs)
        #expect(readings.isEmpty)
    }

    @Test("a close reading is kept at once; the widest of several is never chosen")
    func bestOfSeveral() {
        var tries = 0
        let gaps: [Int64] = [9_000, 4_000, 6_000, 5_000, 7_000]
        let clock = ClockOffset {
            defer { tries += 1 }
            let before = Int64(tries) * 100_000
            return (before, before + gaps[tries] / 2 + Self.trueOffsetNs + gaps[tries] / 2, before + gaps[tries])
        }
        #expect(tries == 5)
        // The 4 µs reading: its realtime was taken at its end, 2 µs past its middle.
        #expect(clock.offsetNs == Self.trueOffsetNs + 2_000)
        #expect(ClockOffset { (0, Self.trueOffsetNs + 200, 400) }.offsetNs == Self.trueOffsetNs)
    }
}
