import GRDB

extension Schema {
    /// v9: a recording bound to a case (案件) at the gateway, so the case's export takes it and
    /// its manifest names the case.
    static func registerRecordingCases(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v9: recordings bound to cases") { db in
            try db.alter(table: "recording") { t in
                t.add(column: "caseNumber", .text)
            }
            try db.create(index: "recordingByCase", on: "recording", columns: ["caseNumber"])
        }
    }
}
