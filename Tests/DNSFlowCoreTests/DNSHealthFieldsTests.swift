import DNSFlowCore
import DNSFlowTestSupport
import Foundation
import Testing

@Suite struct DNSHealthFieldsTests {
    static var resolution: FlowRecord {
        SampleRecords.resolution(endMs: 1_001)
    }

    @Test("a resolution's fields go out as JSON and come back the same")
    func roundTrip() throws {
        var buffer: [UInt8] = []
        FlowRecordJSON.encode([Self.resolution], into: &buffer)
        let text = String(decoding: buffer, as: UTF8.self)
        #expect(text.contains(#""RecordType":"dnsResolution""#))
        #expect(
            text.contains(
                #""DnsTries":[{"DnsName":"web.a.test","DnsQType":"A","DnsFlagsResponseCode":"NXDomain","DnsLatencyMs":0.213,"DnsId":1},{"DnsName":"web","DnsQType":"AAAA","DnsId":2}]"#
            ))
        #expect(text.contains(#""DnsWastedMs":1.5"#) && text.contains(#""DnsRetryGapMs":5000.0"#))
        #expect(text.contains(#""DnsSearchFix":"ask for the name with a trailing dot"#))
        #expect(try JSONSerialization.jsonObject(with: Data(buffer)) is [Any])
        #expect(try FlowRecordJSON.decodeArray(buffer) == [Self.resolution])
    }

    @Test("a bad try names its position and key")
    func badTry() {
        let body =
            #"[{"SrcAddr":"10.0.0.1","DstAddr":"10.0.0.2","SrcPort":1,"DstPort":53,"Proto":17,"Etype":2048,"Bytes":0,"Packets":0,"TimeFlowStartMs":0,"TimeFlowEndMs":0,"Interfaces":[],"IfDirections":[],"Flags":0,"NetNs":1,"NodeName":"n","DnsTries":[{"DnsName":"a","DnsId":1},{"DnsName":"b"}]}]"#
        #expect(throws: FlowJSONError.self) { try FlowRecordJSON.decodeArray(Array(body.utf8)) }
        do {
            _ = try FlowRecordJSON.decodeArray(Array(body.utf8))
        } catch {
            #expect(error.reason == #"DnsTries[1] lacks "DnsId""#)
        }
    }
}
