import DNSFlowAgent
import Testing

struct DnstapFrameStreamTests {
    static let dnstap = Array("protobuf:dnstap.Dnstap".utf8)

    @Test func bidirectionalReadyAcceptStartDataStopFinish() {
        var reader = FrameStreamReader()
        #expect(
            reader.feed(FrameStreamReader.controlFrame(.ready, contentType: Self.dnstap))
                == [.reply(FrameStreamReader.controlFrame(.accept, contentType: Self.dnstap))])
        let stream =
            FrameStreamReader.controlFrame(.start, contentType: Self.dnstap) + FrameStreamReader.dataFrame([1, 2, 3])
            + FrameStreamReader.dataFrame([4]) + FrameStreamReader.controlFrame(.stop, contentType: nil)
        #expect(
            reader.feed(stream)
                == [.data([1, 2, 3]), .data([4]), .reply(FrameStreamReader.controlFrame(.finish, contentType: nil))])
        #expect(reader.feed(FrameStreamReader.dataFrame([5])).isEmpty, "nothing after STOP")
    }

    @Test func unidirectionalStartDataStop() {
        var reader = FrameStreamReader()
        let stream =
            FrameStreamReader.controlFrame(.start, contentType: Self.dnstap) + FrameStreamReader.dataFrame([9])
            + FrameStreamReader.controlFrame(.stop, contentType: nil)
        #expect(reader.feed(stream) == [.data([9]), .finished])
    }

    @Test func framesSplitAnywhereComeOutWhole() {
        let stream =
            FrameStreamReader.controlFrame(.start, contentType: Self.dnstap)
            + FrameStreamReader.dataFrame(Array(0..<200))
            + FrameStreamReader.dataFrame([7, 7]) + FrameStreamReader.controlFrame(.stop, contentType: nil)
        for size in [1, 3, 7, 50] {
            var reader = FrameStreamReader()
            var actions: [FrameStreamReader.Action] = []
            var offset = 0
            while offset < stream.count {
                actions += reader.feed(stream[offset..<min(offset + size, stream.count)])
                offset += size
            }
            #expect(actions == [.data(Array(0..<200)), .data([7, 7]), .finished], "pieces of \(size)")
        }
    }

    @Test func anotherContentTypeOrDataBeforeStartFails() {
        var reader = FrameStreamReader()
        let other = reader.feed(FrameStreamReader.controlFrame(.ready, contentType: Array("protobuf:other".utf8)))
        #expect(other.count == 1 && { if case .fail = other[0] { true } else { false } }())
        var early = FrameStreamReader()
        let data = early.feed(FrameStreamReader.dataFrame([1]))
        #expect(data == [.fail("data frame before START")])
    }

    @Test func anOversizedFrameFailsWithoutBuffering() {
        var reader = FrameStreamReader()
        _ = reader.feed(FrameStreamReader.controlFrame(.start, contentType: Self.dnstap))
        #expect(reader.feed([0x7f, 0xff, 0xff, 0xff]) == [.fail("data frame of 2147483647 bytes")])
    }
}
