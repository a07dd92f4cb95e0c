import DNSFlowCore
import DNSFlowIPFIX
import Logging

/// The collector's IPFIX decoder: templates learned per peer and observation domain, TCP streams
/// framed by each message's length. A message that cannot be decoded is counted and skipped, and so
/// is a record whose lists do not parse (its message's other records are kept); a TCP stream whose
/// framing is lost starts over with the next connection.
public actor IPFIXSessions: IPFIXDecoding {
    private var decoder: IPFIXDecoder
    private var framers: [IPFIXPeer: IPFIXStreamFramer] = [:]
    private let logger: Logger
    public private(set) var malformedMessages = 0
    /// Records left out of messages that otherwise decoded (`IPFIXDecodedMessage.skippedRecords`).
    public private(set) var malformedRecords = 0

    public init(enterpriseId: UInt32 = IPFIX.defaultEnterpriseId, logger: Logger) {
        decoder = IPFIXDecoder(enterpriseId: enterpriseId)
        self.logger = logger
    }

    public func decode(_ bytes: [UInt8], from peer: IPFIXPeer) async -> [FlowRecord] {
        guard peer.transport == .tcp else { return decodeMessage(bytes, from: peer) }
        var framer = framers[peer] ?? IPFIXStreamFramer()
        framer.append(bytes)
        var records: [FlowRecord] = []
        do {
            while let message = try framer.next() { records += decodeMessage(message, from: peer) }
            framers[peer] = framer
        } catch {
            malformedMessages += 1
            framers[peer] = nil
            logger.warning(
                "IPFIX stream is not IPFIX; dropping its buffer",
                metadata: ["dnsflow.ipfix.peer": "\(peer)", "dnsflow.error": "\(error)"])
        }
        return records
    }

    public func peerClosed(_ peer: IPFIXPeer) async {
        framers[peer] = nil
        decoder.forget(exporter: peer.description)
    }

    private func decodeMessage(_ message: [UInt8], from peer: IPFIXPeer) -> [FlowRecord] {
        do {
            let decoded = try decoder.decode(message, exporter: peer.description)
            if let first = decoded.skippedRecords.first {
                malformedRecords += decoded.skippedRecords.count
                logger.debug(
                    "IPFIX records skipped",
                    metadata: [
                        "dnsflow.ipfix.peer": "\(peer)", "dnsflow.records": "\(decoded.skippedRecords.count)",
                        "dnsflow.error": "\(first)",
                    ])
            }
            return decoded.records
        } catch {
            malformedMessages += 1
            logger.debug(
                "IPFIX message skipped", metadata: ["dnsflow.ipfix.peer": "\(peer)", "dnsflow.error": "\(error)"])
            return []
        }
    }
}
