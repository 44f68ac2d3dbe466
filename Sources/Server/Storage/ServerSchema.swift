import GRDB

/// The server database's migrations, registered by name and never edited once shipped: a
/// change is a new migration.
enum ServerSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: gateways, batches, items, blobs, uploads") { db in
            try db.create(table: "gateway") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull().unique()
                t.column("state", .text).notNull()
                t.column("tokenHash", .text).notNull().unique()
                t.column("tokenUsedAt", .datetime)
                t.column("publicKey", .text)
                t.column("secretHash", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("enrolledAt", .datetime)
                t.column("lastSeenAt", .datetime)
                t.column("revokedAt", .datetime)
            }
            try db.create(table: "batch") { t in
                t.primaryKey("id", .text)
                t.column("gatewayId", .text).notNull().references("gateway")
                t.column("batchKey", .text).notNull()
                t.column("state", .text).notNull()
                t.column("envelope", .text).notNull()
                t.column("createdAt", .text).notNull()
                t.column("receivedAt", .datetime).notNull()
                t.column("committedAt", .datetime)
                t.column("receipt", .text)
                t.uniqueKey(["gatewayId", "batchKey"])
            }
            try db.create(table: "batchItem") { t in
                t.column("batchId", .text).notNull().references("batch")
                t.column("position", .integer).notNull()
                t.column("sha256", .text).notNull().indexed()
                t.column("size", .integer).notNull()
                t.column("kind", .text).notNull()
                t.column("metadata", .text).notNull()
                t.column("custody", .text).notNull()
                t.column("withdrawn", .boolean).notNull().defaults(to: false)
                t.primaryKey(["batchId", "position"])
            }
            try db.create(table: "blob") { t in
                t.primaryKey("sha256", .text)
                t.column("size", .integer).notNull()
                t.column("verifiedAt", .datetime).notNull()
            }
            try db.create(table: "upload") { t in
                t.primaryKey("id", .text)
                t.column("gatewayId", .text).notNull().references("gateway")
                t.column("length", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("metadata", .text).notNull()
                t.column("sha256", .text).notNull()
                t.column("state", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
        return migrator
    }
}
