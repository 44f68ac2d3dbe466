import GRDB

extension Schema {
    /// v6: a batch keeps the manifest it signed, exactly as sent, so its receipt (which names
    /// the manifest by hash) and a bundle can show what the gateway signed.
    static func registerKeptManifests(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6: kept signed manifests") { db in
            try db.alter(table: "syncBatch") { t in
                t.add(column: "manifestPayload", .blob)
                t.add(column: "manifestSignature", .text)
            }
        }
    }
}
