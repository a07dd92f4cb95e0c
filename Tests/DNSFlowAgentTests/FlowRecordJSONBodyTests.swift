import DNSFlowCore
import Foundation
import NIOCore
import Testing

@testable import DNSFlowAgent

struct FlowRecordJSONBodyTests {
    static func records(_ count: Int) -> [FlowRecord] {
        (0..<count).map { index in
            FlowRecord(
                srcAddr: IPAddress(ipv4: 10, 244, 1, UInt8(index % 250)), dstAddr: "10.96.0.10",
                srcPort: UInt16(40_000 + index), dstPort: 53,
                proto: 17, etype: 0x0800, bytes: 80, packets: 1, timeFlowStartMs: 1_763_812_800_000,
                timeFlowEndMs: 1_763_812_800_001, interfaces: ["eth0"], ifDirections: [1], flags: 0,
                netNs: 4_026_532_100,
                nodeName: "worker-3", dnsId: UInt16(index), dnsName: "name-\(index).example.")
        }
    }

    static func pieces(of records: ArraySlice<FlowRecord>) async -> [ByteBuffer] {
        var pieces: [ByteBuffer] = []
        for await piece in FlowRecordJSONBody(records: records) { pieces.append(piece) }
        return pieces
    }

    /// The pieces, one after the other, are the JSON array the whole batch encodes to: at and
    /// around a piece's size, and for a batch that is a slice of a larger array.
    @Test(arguments: [1, 2, 127, 128, 129, 300])
    func piecesMakeTheWholeArray(count: Int) async throws {
        let all = Self.records(count + 3)
        let batch = all[2..<(count + 2)]
        let pieces = await Self.pieces(of: batch)
        var whole: [UInt8] = []
        FlowRecordJSON.encode(batch, into: &whole)

        #expect(pieces.count == (count + FlowRecordJSONBody.recordsPerPiece - 1) / FlowRecordJSONBody.recordsPerPiece)
        #expect(pieces.flatMap { Array($0.readableBytesView) } == whole)
        let body = Data(pieces.flatMap { $0.readableBytesView })
        #expect((try JSONSerialization.jsonObject(with: body) as? [Any])?.count == batch.count)
        let decoded = try FlowRecordJSON.decodeArray(body)
        #expect(decoded == Array(batch))
    }

    @Test func noRecordsIsAnEmptyArray() async {
        let pieces = await Self.pieces(of: [])
        #expect(pieces.map { String(buffer: $0) } == ["[]"])
    }
}
