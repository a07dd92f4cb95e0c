import AsyncHTTPClient
import Foundation
import NIOCore

/// A real ClickHouse server (Debian's `clickhouse-server`) for one test: loopback only, its own ports, config and
/// data in a temporary directory, never the system service. Servers made together by `cluster` know each other
/// as the shards of `clusterName`.
public final class ClickHouseServer: @unchecked Sendable {
    public static let clusterName = "dnsflow_test"

    public let httpPort: Int
    public let tcpPort: Int
    public let directory: String
    private var process: Process?

    /// - Parameter shards: the TCP ports of every shard of the cluster, this one's included; empty for none.
    public init(ports: (http: Int, tcp: Int)? = nil, shards: [Int] = []) throws {
        let ports = ports ?? Self.freshPorts()
        httpPort = ports.http
        tcpPort = ports.tcp
        directory = NSTemporaryDirectory() + "i21-clickhouse-\(getpid())-\(httpPort)"
        try FileManager.default.createDirectory(atPath: directory + "/data/tmp", withIntermediateDirectories: true)
        try Self.config(http: httpPort, tcp: tcpPort, directory: directory, shards: shards)
            .write(toFile: directory + "/config.xml", atomically: true, encoding: .utf8)
        try Self.users.write(toFile: directory + "/users.xml", atomically: true, encoding: .utf8)
    }

    /// `count` servers, each a shard of `clusterName`.
    public static func cluster(_ count: Int) throws -> [ClickHouseServer] {
        let base = freshPorts(count: count)
        let ports = (0..<count).map { (http: base.http + $0, tcp: base.tcp + $0) }
        return try ports.map { try ClickHouseServer(ports: $0, shards: ports.map(\.tcp)) }
    }

    /// HTTP ports 19400..<19430 and TCP ports 30 above, the range this project's ClickHouse tests own (the bench
    /// uses 19473/19474); room for a cluster of `count` at the base.
    private static func freshPorts(count: Int = 1) -> (http: Int, tcp: Int) {
        let http = 19_400 + Int.random(in: 0...(30 - count))
        return (http, http + 30)
    }

    public var url: String { "http://127.0.0.1:\(httpPort)" }

    /// The collector's `--store` for database `database`.
    public func storeURL(database: String, cluster: Bool = false) -> String {
        "clickhouse://127.0.0.1:\(httpPort)/\(database)?user=default" + (cluster ? "&cluster=\(Self.clusterName)" : "")
    }

    public static let startTimeout = Duration.seconds(30)

    /// Starts the server and waits (`startTimeout` at most) until it answers a query.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/clickhouse-server")
        process.arguments = ["--config-file=\(directory)/config.xml"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        // Appended to across restarts.
        if !FileManager.default.fileExists(atPath: directory + "/server.log") {
            FileManager.default.createFile(atPath: directory + "/server.log", contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/server.log"))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + Self.startTimeout
        while ContinuousClock.now < deadline, process.isRunning {
            if (try? await query("SELECT 1", timeout: .seconds(1))) == "1\n" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        let tail = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8))?.suffix(2000) ?? ""
        await stop()
        throw ClickHouseServerError(
            description:
                "clickhouse-server on 127.0.0.1:\(httpPort) did not answer within \(Self.startTimeout) (is the clickhouse-server package installed, the port free?): \(tail)"
        )
    }

    /// SIGTERM, then SIGKILL after 15 s; returns once the process has exited.
    public func stop() async {
        guard let process else { return }
        if process.isRunning { process.terminate() }
        for _ in 0..<150 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for _ in 0..<50 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        self.process = nil
    }

    /// Stops the server and removes its directory.
    public func remove() async {
        await stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts `servers`, runs `body`, and removes the servers whether it threw or not.
    public static func running<T>(_ servers: [ClickHouseServer], _ body: () async throws -> T) async throws -> T {
        do {
            for server in servers { try await server.start() }
            let result = try await body()
            for server in servers { await server.remove() }
            return result
        } catch {
            for server in servers { await server.remove() }
            throw error
        }
    }

    /// Runs `sql`; the answer in TabSeparated, or an error with ClickHouse's message.
    @discardableResult
    public func query(_ sql: String, timeout: Duration = .seconds(30)) async throws -> String {
        var request = HTTPClientRequest(url: url + "/")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: sql))
        let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
        let text = String(buffer: try await response.body.collect(upTo: 64 << 20))
        guard response.status == .ok else { throw ClickHouseServerError(description: "\(sql): \(text)") }
        return text
    }

    private static func config(http: Int, tcp: Int, directory: String, shards: [Int]) -> String {
        let remote =
            shards.isEmpty
            ? ""
            : """
            <remote_servers><\(clusterName)>
            \(shards.map { "<shard><replica><host>127.0.0.1</host><port>\($0)</port></replica></shard>" }.joined())
            </\(clusterName)></remote_servers>
            """
        return """
            <?xml version="1.0"?>
            <yandex>
              <logger><level>warning</level><console>1</console></logger>
              <listen_host>127.0.0.1</listen_host>
              <http_port>\(http)</http_port>
              <tcp_port>\(tcp)</tcp_port>
              <path>\(directory)/data/</path>
              <tmp_path>\(directory)/data/tmp/</tmp_path>
              <users_config>users.xml</users_config>
              <default_profile>default</default_profile>
              <default_database>default</default_database>
              <mark_cache_size>268435456</mark_cache_size>
              <uncompressed_cache_size>268435456</uncompressed_cache_size>
              \(remote)
            </yandex>
            """
    }

    private static let users = """
        <?xml version="1.0"?>
        <yandex>
          <profiles><default></default></profiles>
          <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile>
            <quota>default</quota></default></users>
          <quotas><default></default></quotas>
        </yandex>
        """
}

public struct ClickHouseServerError: Error, CustomStringConvertible {
    public let description: String
}
