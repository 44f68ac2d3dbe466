import GRDB

extension Schema {
    /// v7: every bundle exported is recorded, whatever it holds.
    static func registerExportedCustody(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7: exported bundles") { db in
            try db.create(table: "bundleExport") { t in
                t.primaryKey("id", .text)
                t.column("exportedAt", .datetime).notNull()
                t.column("selection", .text).notNull()
                t.column("destination", .blob).notNull()
                t.column("items", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("tagManifestSha256", .text).notNull()
            }
        }
    }
}
