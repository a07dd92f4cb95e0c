/// Where a partition's DNS ids and names point into its rows: for each key, one list of row ids per transaction.
///
/// An index would take an entry per row, each landing at a random place in its B-tree, and cost more than the row's
/// own insert (the time-ordered row only appends). One list per key and transaction turns the four records of a DNS
/// transaction, and the many of a popular name, into one entry, and the lists go in in key order.
enum FlowPostings: CaseIterable {
    case dnsId, dnsName

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
        // `first`, the list's smallest row id, tells the lists of one key apart. `ids` is a JSON array, so SQL
        // reads it with json_each.
        """
        CREATE TABLE IF NOT EXISTS \(table(partition)) (
          \(keyColumn) INTEGER NOT NULL, first INTEGER NOT NULL, ids TEXT NOT NULL,
          PRIMARY KEY (\(keyColumn), first)) WITHOUT ROWID
        """
    }

    func insertSQL(_ partition: FlowPartition) -> String {
        "INSERT INTO \(table(partition)) (\(keyColumn), first, ids) VALUES (?, ?, ?)"
    }

    /// The row ids of `partition` listed under the key bound to its one parameter.
    func rowIDsSQL(_ partition: FlowPartition) -> String {
        "SELECT j.value FROM \(table(partition)) AS p, json_each(p.ids) AS j WHERE p.\(keyColumn) = ?"
    }

    /// How many row ids of `partition` are listed under the key bound to the first parameter; `j.value`, the row
    /// id, can be narrowed further.
    func countSQL(_ partition: FlowPartition) -> String {
        "SELECT COUNT(*) FROM \(table(partition)) AS p, json_each(p.ids) AS j WHERE p.\(keyColumn) = ?"
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
