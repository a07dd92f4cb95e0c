import GRDB

enum FlowSchema {
    /// One row per partition: its hour and row count, kept in the inserting transaction so that counting the
    /// store, or a partition a query window covers whole, needs no scan.
    static let partitions = "flow_partitions"

    /// The one schema version; the hourly tables (`FlowPartition`) are made as their first rows arrive.
    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "CREATE TABLE \(partitions) (hour INTEGER PRIMARY KEY, rows INTEGER NOT NULL)")
            for sql in DNSRollup.createSQL { try db.execute(sql: sql) }
            try db.execute(sql: FlowMinutes.createSQL)
        }
        return migrator
    }
}
