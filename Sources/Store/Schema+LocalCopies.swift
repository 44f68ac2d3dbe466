import GRDB

extension Schema {
    /// v5: a recording whose local copy was removed to make room (the server holding it per
    /// its receipt) says when; its row, custody and receipt stay.
    static func registerLocalCopies(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5: local copies removed after receipt") { db in
            try db.alter(table: "recording") { t in
                t.add(column: "localCopyRemovedAt", .datetime)
            }
        }
    }
}
