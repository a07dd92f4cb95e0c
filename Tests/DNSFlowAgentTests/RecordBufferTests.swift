import DNSFlowAgent
import DNSFlowCore
import Testing

@Suite(.timeLimit(.minutes(1))) struct RecordBufferTests {
    private let records = Samples.records(10)

    @Test func takeGivesTheOldestFirstAcrossBatches() {
        let buffer = RecordBuffer(capacity: 100)
        buffer.append(Array(records[0..<4]))
        buffer.append(Array(records[4..<10]))
        #expect(Array(buffer.take(3)) == Array(records[0..<3]))
        // A take ends at a batch's end: the rest of the first batch, not a join of two.
        #expect(Array(buffer.take(5)) == Array(records[3..<4]))
        #expect(Array(buffer.take(100)) == Array(records[4..<10]))
        #expect(buffer.take(1).isEmpty)
        #expect(buffer.count == 0)
    }

    @Test func pastTheCapacityTheOldestAreDroppedAndCounted() {
        let buffer = RecordBuffer(capacity: 5)
        #expect(buffer.append(Array(records[0..<3])) == 0)
        #expect(buffer.append(Array(records[3..<10])) == 5)
        #expect(buffer.count == 5)
        #expect(Array(buffer.take(10)) == Array(records[5..<10]))
        #expect(buffer.append([]) == 0)
    }

    @Test func aBatchPutBackComesFirstAndWhatDoesNotFitIsCounted() {
        let buffer = RecordBuffer(capacity: 6)
        buffer.append(Array(records[0..<6]))
        let batch = buffer.take(4)
        buffer.append(Array(records[6..<9]))
        // Five wait; one of the four fits back: the newest of them.
        #expect(buffer.putBack(batch) == 3)
        #expect(buffer.count == 6)
        #expect(Array(buffer.take(10)) == [records[3]])
        #expect(Array(buffer.take(10)) == Array(records[4..<6]))
    }

    @Test func removeAllEmptiesEveryBatchAndCountsThem() {
        let buffer = RecordBuffer(capacity: 100)
        buffer.append(Array(records[0..<4]))
        buffer.append(Array(records[4..<10]))
        #expect(buffer.removeAll() == 10)
        #expect(buffer.count == 0)
        #expect(buffer.take(100).isEmpty)
    }

    @Test func waitingEndsWhenRecordsComeOrTheBufferIsFinished() async {
        let buffer = RecordBuffer(capacity: 10)
        async let woken = buffer.waitForRecords()
        buffer.append(Array(records[0..<1]))
        #expect(await woken)
        let batch = buffer.take(10)
        // A batch that failed, put back, wakes the exporter to retry it.
        async let retried = buffer.waitForRecords()
        buffer.putBack(batch)
        #expect(await retried)
        _ = buffer.take(10)
        async let finished = buffer.waitForRecords()
        buffer.finish()
        #expect(await finished == false)
        // Records left at the end are still there to flush.
        buffer.append(Array(records[1..<2]))
        #expect(buffer.count == 1)
    }
}
