import GRDB

enum FlowSchema {
    /// One row per partition: its hour and row count, kept in the inserting transaction so that counting the
    /// store, or a partition a query window covers whole, needs no scan.
    static let partitions = "flow_partitions"

    static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 flows") { db in
            try db.execute(sql: FlowRow.createTableV1SQL)
        }
        migrator.registerMigration("v2 hourly partitions") { db in
            try db.execute(sql: "CREATE TABLE \(partitions) (hour INTEGER PRIMARY KEY, rows INTEGER NOT NULL)")
            try moveV1Rows(db)
            try db.execute(sql: "DROP TABLE flows")
        }
        migrator.registerMigration("v3 posting runs") { db in
            for hour in try Int64.fetchAll(db, sql: "SELECT hour FROM \(partitions)") {
                for postings in FlowPostings.allCases { try postings.moveIntoRuns(FlowPartition(hour: hour), db) }
            }
        }
        return migrator
    }

    /// Copies v1's single table into partitions, in chunks so a large store is never all in memory.
    private static func moveV1Rows(_ db: Database) throws {
        var sequence: Int64 = 0
        var last: Int64 = .min
        while true {
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(FlowRow.selectionFromV1), id FROM flows WHERE id > ? ORDER BY id LIMIT 10000",
                arguments: [last]
            )
            guard let end = rows.last else { return }
            last = end[FlowRow.columns.count]
            try FlowInsert.run(rows.map(FlowRow.record), in: db, sequence: &sequence)
        }
    }
}
