import DNSFlowCore
import GRDB
import GRDBSQLite

/// Binds values to consecutive parameters of a prepared statement and runs it, through SQLite's C API: GRDB's
/// `StatementArguments` box and validate every value of every row, which costs more than SQLite's own insert.
///
/// Text values are gathered in one buffer, reused from run to run, and bound by pointer (SQLITE_STATIC) just
/// before the statement runs, once the buffer no longer moves: SQLite then copies each value once, into the row,
/// instead of first into an allocation of its own (one per text column of every row).
struct StatementBinding {
    /// A text (or blob) parameter's bytes in `texts`.
    private struct PendingText {
        let index: CInt
        let range: Range<Int>
        var isBlob = false
    }

    // SQLITE_TRANSIENT: SQLite copies the value, for the empty text, which has no buffer to point into.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
    private static let hex = Array("0123456789abcdef".utf8)

    /// Kept alive here: the statement is finalized with its last binding.
    private let owner: Statement
    private let statement: OpaquePointer
    private(set) var column: CInt = 0
    /// The first bind error of the row; binds only fail on misuse or an out-of-memory, never on a value.
    private(set) var failure: CInt?
    /// This run's text values, JSON arrays included, back to back.
    private var texts: [UInt8] = []
    private var pendingTexts: [PendingText] = []

    init(_ statement: Statement) {
        owner = statement
        self.statement = statement.sqliteStatement
    }

    /// Starts a new set of values; those of the last run stay bound until replaced.
    mutating func start() {
        sqlite3_reset(statement)
        column = 0
        failure = nil
        texts.removeAll(keepingCapacity: true)
        pendingTexts.removeAll(keepingCapacity: true)
    }

    /// Runs the statement with the values bound since `start`; SQLite's result code (SQLITE_DONE on success).
    mutating func step() -> CInt {
        let statement = statement
        let code =
            failure
            ?? texts.withUnsafeBytes { texts in
                // SQLite reads these pointers only while it steps, inside this closure; every run binds them anew.
                for text in pendingTexts {
                    let bytes = UnsafeRawBufferPointer(rebasing: texts[text.range])
                    let code =
                        text.isBlob
                        ? sqlite3_bind_blob(statement, text.index, bytes.baseAddress, CInt(bytes.count), nil)
                        : Self.bindText(statement, text.index, bytes)
                    if code != SQLITE_OK { return code }
                }
                return sqlite3_step(statement)
            }
        sqlite3_reset(statement)
        return code
    }

    /// Replaces the value of the first parameter, for a retry after `step`.
    mutating func rebindFirst(_ value: Int64) {
        check(sqlite3_bind_int64(statement, 1, value))
    }

    func error(_ code: CInt) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code),
            message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement))), sql: owner.sql
        )
    }

    private mutating func check(_ code: CInt) {
        if code != SQLITE_OK, failure == nil { failure = code }
    }

    private mutating func next() -> CInt {
        column += 1
        return column
    }

    mutating func integer(_ value: (some BinaryInteger)?) {
        let index = next()
        check(value.map { sqlite3_bind_int64(statement, index, Int64($0)) } ?? sqlite3_bind_null(statement, index))
    }

    /// Network byte order: 4 bytes for IPv4, 16 for IPv6, bound as a blob.
    mutating func address(_ value: IPAddress) {
        appendText { value.append(to: &$0) }
        pendingTexts[pendingTexts.count - 1].isBlob = true
    }

    mutating func address(_ value: IPAddress?) {
        guard let value else { return null() }
        address(value)
    }

    private mutating func null() {
        check(sqlite3_bind_null(statement, next()))
    }

    mutating func text(_ value: String?) {
        guard let value else { return null() }
        appendText { $0.append(contentsOf: value.utf8) }
    }

    mutating func json(strings: [String]) { json(strings, Self.appendJSONString) }

    mutating func json(strings: [String]?) {
        guard let strings else { return null() }
        json(strings: strings)
    }

    /// NULL when there are none, as on every flow.
    mutating func json(stages: [DNSStage]) {
        guard !stages.isEmpty else { return null() }
        appendText { FlowRecordJSON.encode(stages: stages, into: &$0) }
    }

    /// NULL when there are none, as on every record but a resolution.
    mutating func json(tries: [DNSTry]) {
        guard !tries.isEmpty else { return null() }
        appendText { FlowRecordJSON.encode(tries: tries, into: &$0) }
    }

    mutating func json(addresses: [IPAddress]?) {
        guard let addresses else { return null() }
        appendText { FlowRecordJSON.encode(addresses: addresses, into: &$0) }
    }

    /// NULL when there are none.
    mutating func json(linked lookups: [DNSLinkedLookup]) {
        guard !lookups.isEmpty else { return null() }
        appendText { FlowRecordJSON.encode(linked: lookups, into: &$0) }
    }

    mutating func json(integers: some Sequence<Int64>) { json(integers, Self.appendDecimal) }

    mutating func json(numbers: [UInt8]) { json(numbers) { Self.appendDecimal(Int64($0), to: &$1) } }

    /// A JSON array of `elements`, each written by `append`, bound as text.
    private mutating func json<S: Sequence>(_ elements: S, _ append: (S.Element, inout [UInt8]) -> Void) {
        appendText { json in
            json.append(UInt8(ascii: "["))
            for (n, element) in elements.enumerated() {
                if n > 0 { json.append(UInt8(ascii: ",")) }
                append(element, &json)
            }
            json.append(UInt8(ascii: "]"))
        }
    }

    /// Binds the next parameter to the text `write` appends, when the statement runs.
    private mutating func appendText(_ write: (inout [UInt8]) -> Void) {
        let index = next()
        let start = texts.count
        write(&texts)
        pendingTexts.append(PendingText(index: index, range: start..<texts.count))
    }

    /// SQLITE_STATIC: `utf8` must stay put until the statement has run.
    private static func bindText(_ statement: OpaquePointer, _ index: CInt, _ utf8: UnsafeRawBufferPointer) -> CInt {
        // An empty buffer may have no address, and a NULL pointer would bind SQL NULL rather than ''.
        guard let base = utf8.baseAddress, !utf8.isEmpty else {
            return sqlite3_bind_text(statement, index, "", 0, transient)
        }
        return sqlite3_bind_text(statement, index, base.assumingMemoryBound(to: CChar.self), CInt(utf8.count), nil)
    }

    private static func appendDecimal(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }

    /// Quotes and escapes as JSON requires; the rest of the UTF-8 goes through unchanged.
    private static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0..<0x20:
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
                out += [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
