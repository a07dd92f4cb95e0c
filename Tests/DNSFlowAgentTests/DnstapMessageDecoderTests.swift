import DNSFlowCore
import Foundation
import Testing

@testable import DNSFlowAgent

struct DnstapMessageDecoderTests {
    /// A query for a.example.test A with id 0x1234, or its response with `rcode`.
    static func dns(response: Bool, rcode: UInt8 = 0) -> Data {
        var bytes: [UInt8] = [0x12, 0x34, response ? 0x81 : 0x01, response ? 0x80 | rcode : 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in ["a", "example", "test"] { bytes += [UInt8(label.utf8.count)] + Array(label.utf8) }
        bytes += [0, 0, 1, 0, 1]
        return Data(bytes)
    }

    static func frame(
        _ type: Dnstap_Message.TypeEnum, configure: (inout Dnstap_Message) -> Void = { _ in }
    ) throws -> [UInt8] {
        var message = Dnstap_Message()
        message.type = type
        message.socketFamily = .inet
        message.socketProtocol = .udp
        message.queryAddress = Data([10, 0, 0, 2])
        message.responseAddress = Data([10, 0, 0, 53])
        message.queryPort = 40_000
        message.responsePort = 53
        message.queryTimeSec = 1_700_000_000
        message.queryTimeNsec = 5
        configure(&message)
        var dnstap = Dnstap_Dnstap()
        dnstap.type = .message
        dnstap.message = message
        return try dnstap.serializedBytes()
    }

    @Test func aClientResponseGivesItsKeyQuestionRcodeAndBothTimes() throws {
        let frame = try Self.frame(.clientResponse) {
            $0.responseMessage = Self.dns(response: true, rcode: 3)
            $0.responseTimeSec = 1_700_000_000
            $0.responseTimeNsec = 40_000_005
        }
        let event = try #require(try DnstapMessageDecoder.decode(frame, sender: 4))
        #expect(event.kind == .clientResponse && event.sender == 4 && event.proto == 17)
        #expect(event.queryAddr == "10.0.0.2" && event.queryPort == 40_000 && event.responseAddr == "10.0.0.53")
        #expect(event.id == 0x1234 && event.question == DNSQuestion(name: "a.example.test", type: .a))
        #expect(event.rcode == .nameError)
        #expect(event.timeNs == 1_700_000_000_040_000_005 && event.queryTimeNs == 1_700_000_000_000_000_005)
    }

    @Test func forwarderAndResolverMessagesAreUpstreams() throws {
        for type in [Dnstap_Message.TypeEnum.forwarderQuery, .resolverQuery] {
            let frame = try Self.frame(type) { $0.queryMessage = Self.dns(response: false) }
            #expect(try DnstapMessageDecoder.decode(frame, sender: 1)?.kind == .upstreamQuery)
        }
    }

    @Test func authMessagesAreNotJoinedAndGarbageIsAnError() throws {
        let auth = try Self.frame(.authQuery) { $0.queryMessage = Self.dns(response: false) }
        #expect(try DnstapMessageDecoder.decode(auth, sender: 1) == nil)
        #expect(throws: DnstapMessageDecoder.DecodingError.self) {
            try DnstapMessageDecoder.decode([0xff, 0xff, 0xff], sender: 1)
        }
        let short = try Self.frame(.clientQuery) { $0.queryMessage = Data([1, 2, 3]) }
        #expect(throws: DnstapMessageDecoder.DecodingError.self) { try DnstapMessageDecoder.decode(short, sender: 1) }
    }
}
