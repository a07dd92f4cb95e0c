/// Why an IPFIX message could not be encoded or decoded. The message names the offending part and
/// what to check, so a collector can log it and move on to the next message.
public struct IPFIXError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case truncated, badVersion, badLength, unknownTemplate, badTemplate, badRecord, badList
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Fewer bytes than a header or length field promised.
        public static let truncated = Code(.truncated)
        /// Not version 10: probably NetFlow v5/v9 or not IPFIX at all.
        public static let badVersion = Code(.badVersion)
        /// A message or set length that is too small or runs past its container.
        public static let badLength = Code(.badLength)
        /// A data set for a template this exporter and observation domain never sent.
        public static let unknownTemplate = Code(.unknownTemplate)
        /// A template record that cannot be right (id below 256, field past the set).
        public static let badTemplate = Code(.badTemplate)
        /// A field whose length does not fit its type (an address that is not 4 or 16 bytes).
        public static let badRecord = Code(.badRecord)
        /// An RFC 6313 list whose contents do not parse: an unknown sub-template, a value past the
        /// list's end, a length that does not fit the element. The record is skipped, not the set.
        public static let badList = Code(.badList)

        public var description: String { "\(base)" }
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "IPFIX \(code): \(message)" }
}
