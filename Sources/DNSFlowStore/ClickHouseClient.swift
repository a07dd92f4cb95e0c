import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// ClickHouse's HTTP interface: a statement in the body, or an INSERT in the URL and its rows in the body.
/// Transport failures and server errors (5xx) are retried with exponential backoff, a bounded number of times.
struct ClickHouseClient: Sendable {
    let endpoint: ClickHouseEndpoint
    let retry: ClickHouseRetry
    let timeout: TimeAmount
    let logger: Logger
    private let http: HTTPClient

    init(
        endpoint: ClickHouseEndpoint, retry: ClickHouseRetry = ClickHouseRetry(), timeout: TimeAmount = .seconds(30),
        http: HTTPClient = ClickHouseClient.http, logger: Logger
    ) {
        self.endpoint = endpoint
        self.retry = retry
        self.timeout = timeout
        self.http = http
        self.logger = logger
    }

    /// One client for every store: a refused connection fails the request at once (our retries back off), instead
    /// of the pool reconnecting until the request's deadline.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Runs `sql` (in `database` unless nil) and returns the answer's bytes.
    func execute(_ sql: String, database: String?) async throws(ClickHouseError) -> [UInt8] {
        try await withRetries(sql) {
            try await send(url: url(database: database), body: ByteBuffer(string: sql))
        }
    }

    /// Runs `sql` in the endpoint's database.
    func execute(_ sql: String) async throws(ClickHouseError) -> [UInt8] {
        try await execute(sql, database: endpoint.database)
    }

    /// Inserts RowBinary rows; returns once ClickHouse has acknowledged them, which it does after writing the part.
    func insert(_ statement: String, rows: [UInt8]) async throws(ClickHouseError) {
        let query = statement.addingPercentEncoding(
            withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&+=")))
        let url = url(database: endpoint.database) + "&query=" + (query ?? "")
        _ = try await withRetries(statement) { try await send(url: url, body: ByteBuffer(bytes: rows)) }
    }

    private func url(database: String?) -> String {
        // Failed statements answer at once rather than after streaming a partial result.
        endpoint.baseURL + "?wait_end_of_query=1" + (database.map { "&database=\($0)" } ?? "")
    }

    private func send(url: String, body: ByteBuffer) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "X-ClickHouse-User", value: endpoint.user)
        if !endpoint.password.isEmpty { request.headers.add(name: "X-ClickHouse-Key", value: endpoint.password) }
        request.body = .bytes(body)
        let response = try await http.execute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 1 << 30)
        let bytes = Array(answer.readableBytesView)
        guard response.status == .ok else {
            throw ClickHouseError.server(
                status: Int(response.status.code), message: String(decoding: bytes.prefix(2000), as: UTF8.self))
        }
        return bytes
    }

    private func withRetries(
        _ statement: String, _ attempt: () async throws -> [UInt8]
    ) async throws(ClickHouseError) -> [UInt8] {
        var tries = 0
        while true {
            let failure: ClickHouseError
            do {
                return try await attempt()
            } catch let error as ClickHouseError {
                failure = error
            } catch {
                failure = .unreachable(endpoint.description, error)
            }
            tries += 1
            guard failure.isTransient, let delay = retry.delay(afterFailures: tries) else { throw failure }
            logger.warning(
                "clickhouse request failed, retrying",
                metadata: [
                    "dnsflow.clickhouse.error": "\(failure)", "dnsflow.clickhouse.attempt": "\(tries)",
                    "dnsflow.clickhouse.statement": "\(statement.prefix(80))",
                ])
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw failure
            }
        }
    }
}

/// Exponential backoff: `initial`, doubled after each failure up to `maximum`, for `attempts` tries in all.
public struct ClickHouseRetry: Sendable, Hashable {
    public var attempts: Int
    public var initial: Duration
    public var maximum: Duration

    public init(attempts: Int = 5, initial: Duration = .milliseconds(100), maximum: Duration = .seconds(2)) {
        self.attempts = max(attempts, 1)
        self.initial = initial
        self.maximum = maximum
    }

    /// The wait before the next try, or nil when `failures` tries have used them all.
    func delay(afterFailures failures: Int) -> Duration? {
        guard failures < attempts else { return nil }
        var delay = initial
        for _ in 1..<failures where delay < maximum { delay *= 2 }
        return min(delay, maximum)
    }
}

/// A ClickHouse request that failed: the server's own message, or why it could not be reached.
public struct ClickHouseError: Error, CustomStringConvertible {
    private enum Code {
        case server(status: Int)
        case unreachable(endpoint: String)
        case answer
    }

    private let code: Code
    private let detail: String

    static func server(status: Int, message: String) -> ClickHouseError {
        ClickHouseError(code: .server(status: status), detail: message.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func unreachable(_ endpoint: String, _ error: any Error) -> ClickHouseError {
        ClickHouseError(code: .unreachable(endpoint: endpoint), detail: "\(error)")
    }

    static func answer(_ error: any Error) -> ClickHouseError {
        ClickHouseError(code: .answer, detail: "\(error)")
    }

    /// Worth retrying: the server may be restarting or overloaded. 4xx (bad SQL, bad credentials) are not.
    var isTransient: Bool {
        switch code {
        case .server(let status): status >= 500
        case .unreachable: true
        case .answer: false
        }
    }

    public var description: String {
        switch code {
        case .server(let status): "ClickHouse answered \(status): \(detail)"
        case .unreachable(let endpoint):
            "cannot reach ClickHouse at \(endpoint): \(detail) (check the server is up and the URL's host and port)"
        case .answer: "cannot read ClickHouse's answer: \(detail)"
        }
    }
}
