import GRDB

/// Where a partition's DNS ids and names point into its rows: for each key, one list of row ids per transaction.
///
/// An index would take an entry per row, each landing at a random place in its B-tree, and cost more than the row's
/// own insert (the time-ordered row only appends). One list per key and transaction turns the four records of a DNS
/// transaction, and the many of a popular name, into one entry, and the lists go in in key order.
///
/// The lists are grouped in runs of `runRows` rows of the partition, run first in the key: a commit rewrites every
/// page it touched, and a transaction's keys, spread over the whole hour's lists, touched nearly all of them. Within a
/// run they touch only the run's pages, at the end of the B-tree; a query seeks once per run.
enum FlowPostings: CaseIterable {
    case dnsId, dnsName

    /// Rows of a partition per run; a transaction's lists go to the run of the partition's row count before it.
    static let runRows: Int64 = 65_536

    static func run(rowsBefore: Int64) -> Int64 { rowsBefore / runRows }

    func table(_ partition: FlowPartition) -> String {
        switch self {
        case .dnsId: "\(partition.table)_dns_id"
        case .dnsName: "\(partition.table)_dns_name"
        }
    }

    /// The DNS id, or `nameHash` of the name: an integer key costs a fraction of a NOCASE text key to compare.
    var keyColumn: String {
        switch self {
        case .dnsId: "dns_id"
        case .dnsName: "name_hash"
        }
    }

    func createSQL(_ partition: FlowPartition) -> String {
        // `first`, the list's smallest row id, tells the lists of one key in a run apart. `ids` is a JSON array, so
        // SQL reads it with json_each.
        """
        CREATE TABLE IF NOT EXISTS \(table(partition)) (
          run INTEGER NOT NULL, \(keyColumn) INTEGER NOT NULL, first INTEGER NOT NULL, ids TEXT NOT NULL,
          PRIMARY KEY (run, \(keyColumn), first)) WITHOUT ROWID
        """
    }

    func insertSQL(_ partition: FlowPartition) -> String {
        "INSERT INTO \(table(partition)) (run, \(keyColumn), first, ids) VALUES (?, ?, ?, ?)"
    }

    /// The row ids (`j.value`) of `partition` listed under the key bound to its first parameter.
    func rowIDsSQL(_ partition: FlowPartition) -> String {
        "\(Self.runs(partition)) SELECT j.value FROM \(lists(partition)), json_each(p.ids) AS j"
    }

    /// The key's lists, one seek per run: with the run leading the key, SQLite would otherwise scan every list.
    private func lists(_ partition: FlowPartition) -> String {
        "runs CROSS JOIN \(table(partition)) AS p ON p.run = runs.run AND p.\(keyColumn) = ?"
    }

    /// `runs`, the partition's run numbers, from its row count (every run before the count's is full).
    private static func runs(_ partition: FlowPartition) -> String {
        """
        WITH RECURSIVE runs(run) AS (VALUES (0) UNION ALL SELECT run + 1 FROM runs
          WHERE run < (SELECT rows / \(runRows) FROM \(FlowSchema.partitions) WHERE hour = \(partition.hour)))
        """
    }

    /// FNV-1a over the name's bytes, ASCII letters lowercased as NOCASE compares them. Queries check the name itself
    /// too, so a collision costs a row read, never a wrong answer.
    static func nameHash(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            hash = (hash ^ UInt64(folded)) &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}
