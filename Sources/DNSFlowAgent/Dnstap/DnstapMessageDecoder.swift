import DNSFlowCore
import Foundation
import SwiftProtobuf

/// Turns one dnstap data frame (a protobuf `dnstap.Dnstap`) into a `DnstapEvent`: the message's
/// kind, its addresses and ports, and from the DNS message it carries the id, the question and the
/// response code.
public enum DnstapMessageDecoder {
    public struct DecodingError: Error, Hashable, CustomStringConvertible {
        public let reason: String
        public var description: String { "dnstap frame: \(reason)" }
    }

    /// Nil for messages the joiner has no use for (AUTH_*, STUB_*, TOOL_*, UPDATE_*).
    public static func decode(_ frame: [UInt8], sender: UInt64) throws(DecodingError) -> DnstapEvent? {
        let dnstap: Dnstap_Dnstap
        do {
            dnstap = try Dnstap_Dnstap(serializedBytes: frame)
        } catch {
            throw DecodingError(reason: "not a dnstap.Dnstap protobuf (\(error))")
        }
        guard dnstap.type == .message, dnstap.hasMessage else { throw DecodingError(reason: "no message") }
        let message = dnstap.message
        let kind: DnstapEvent.Kind
        switch message.type {
        case .clientQuery: kind = .clientQuery
        case .clientResponse: kind = .clientResponse
        case .resolverQuery, .forwarderQuery: kind = .upstreamQuery
        case .resolverResponse, .forwarderResponse: kind = .upstreamResponse
        default: return nil
        }
        let isResponse = kind == .clientResponse || kind == .upstreamResponse
        let dns = isResponse ? message.responseMessage : message.queryMessage
        guard dns.count >= 12 else { throw DecodingError(reason: "no DNS message of 12 bytes or more") }
        guard let queryAddr = IPAddress(bytes: message.queryAddress),
            let responseAddr = IPAddress(bytes: message.responseAddress)
        else { throw DecodingError(reason: "no query or response address") }
        let header = [UInt8](dns.prefix(12))
        let flags = UInt16(header[2]) << 8 | UInt16(header[3])
        let queryNs = time(message.queryTimeSec, message.queryTimeNsec, present: message.hasQueryTimeSec)
        let responseNs = time(message.responseTimeSec, message.responseTimeNsec, present: message.hasResponseTimeSec)
        guard let timeNs = isResponse ? responseNs : queryNs else { throw DecodingError(reason: "no time") }
        let qdcount = UInt16(header[4]) << 8 | UInt16(header[5])
        let ancount = Int(UInt16(header[6]) << 8 | UInt16(header[7]))
        // The answers matter to a lookup told of by dnstap alone; one that does not decode is left out.
        let answers =
            isResponse && ancount > 0
            ? try? DNSAnswerSection.decode([UInt8](dns.dropFirst(12)), answerCount: ancount) : nil
        return DnstapEvent(
            kind: kind, sender: sender, proto: message.socketProtocol == .udp ? 17 : 6, queryAddr: queryAddr,
            queryPort: UInt16(truncatingIfNeeded: message.queryPort), responseAddr: responseAddr,
            responsePort: UInt16(truncatingIfNeeded: message.responsePort),
            id: UInt16(header[0]) << 8 | UInt16(header[1]),
            question: qdcount == 1 ? try? DNSQuestion.decode(dns.dropFirst(12)) : nil,
            rcode: isResponse ? DNSResponseCode(flags: flags) : nil, timeNs: timeNs,
            queryTimeNs: isResponse ? queryNs : nil, flags: flags, answers: answers == DNSAnswers.none ? nil : answers)
    }

    private static func time(_ seconds: UInt64, _ nanoseconds: UInt32, present: Bool) -> Int64? {
        guard present, seconds < UInt64(Int64.max / 1_000_000_000) else { return nil }
        return Int64(seconds) * 1_000_000_000 + Int64(nanoseconds)
    }
}
