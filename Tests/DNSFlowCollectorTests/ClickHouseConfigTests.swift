import DNSFlowStore
import Testing

@testable import DNSFlowCollector

@Suite struct ClickHouseConfigTests {
    @Test func storeKeyChoosesClickHouseOrSQLite() throws {
        let clickHouse = try CollectorConfig.parse(yaml: "store: clickhouse://ch:8123/flows?user=dnsflow&cluster=c1")
        #expect(
            clickHouse.clickHouse
                == ClickHouseEndpoint(host: "ch", port: 8123, database: "flows", user: "dnsflow", cluster: "c1"))
        let sqlite = try CollectorConfig.parse(yaml: "store: sqlite:/var/lib/dnsflow/flows.sqlite")
        #expect(sqlite.clickHouse == nil && sqlite.db == "/var/lib/dnsflow/flows.sqlite")
        #expect(CollectorConfig().clickHouse == nil, "SQLite is the default")
    }

    @Test(arguments: [
        ("store: mysql://x/db", "expected sqlite:PATH or clickhouse://"), ("store: 'sqlite:'", "needs a path"),
        ("store: clickhouse://x/db?passwd=1", "unknown parameter 'passwd'"),
        ("store: clickhouse://x/my-db", "letters, digits and underscores"),
        ("{db: a.sqlite, store: 'clickhouse://x/db'}", "db and store both name the store"),
    ])
    func aBadStoreNamesTheKey(yaml: String, reason: String) {
        #expect {
            try CollectorConfig.parse(yaml: yaml)
        } throws: { error in
            (error as? CollectorError)?.keyPath == "store" && "\(error)".contains(reason)
        }
    }
}
