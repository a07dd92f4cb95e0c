import Foundation

/// Where a ClickHouse store lives: `clickhouse://host:8123/db?user=…&password=…&cluster=…`.
///
/// With `cluster`, the collector writes to its server's own table (one shard) and reads through a Distributed
/// table over the cluster's shards, as named in the servers' `remote_servers`.
public struct ClickHouseEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    public var password: String
    public var cluster: String?

    public init(
        host: String, port: Int = 8123, database: String = "dnsflow", user: String = "default", password: String = "",
        cluster: String? = nil
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.cluster = cluster
    }

    /// Parses the URL; the error says which part is wrong.
    public init(url text: String) throws(ClickHouseEndpointError) {
        guard let url = URLComponents(string: text), url.scheme == "clickhouse" else {
            throw ClickHouseEndpointError("expected clickhouse://host:port/database, got '\(text)'")
        }
        guard let host = url.host, !host.isEmpty else { throw ClickHouseEndpointError("'\(text)' names no host") }
        self.init(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: url.port ?? 8123)
        let path = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty { database = path }
        // Names are spliced into SQL as identifiers: letters, digits and underscores only.
        guard Self.isIdentifier(database) else {
            throw ClickHouseEndpointError("database '\(database)' must be letters, digits and underscores")
        }
        for item in url.queryItems ?? [] {
            switch item.name {
            case "user": user = item.value ?? ""
            case "password": password = item.value ?? ""
            case "cluster":
                guard let name = item.value, Self.isIdentifier(name) else {
                    throw ClickHouseEndpointError("cluster must be letters, digits and underscores")
                }
                cluster = name
            default:
                throw ClickHouseEndpointError(
                    "unknown parameter '\(item.name)' (expected user, password or cluster)")
            }
        }
    }

    static func isIdentifier(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { ch in
                ch == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(ch | 0x20)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(ch)
            }
    }

    /// The URL without the password, for logs and errors.
    public var description: String {
        "clickhouse://\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?user=\(user)"
            + (cluster.map { "&cluster=\($0)" } ?? "")
    }

    var baseURL: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/" }
}

public struct ClickHouseEndpointError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
