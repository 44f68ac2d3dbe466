import GRDB

extension Schema {
    /// v8: a receipt's RFC 3161 time-stamp, as the server's authority granted it, with the CA
    /// certificates that verify it, so a bundle carries both.
    static func registerReceiptTimestamps(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v8: receipts' time-stamps") { db in
            try db.alter(table: "syncBatch") { t in
                t.add(column: "timestampReply", .blob)
                t.add(column: "timestampedAt", .text)
                t.add(column: "timestampAuthority", .text)
            }
        }
    }
}
