import Foundation
import GRDB

extension SQLiteEvidenceRepository {
    /// Up to `limit` rows of `table` after `rowid`, in rowid order, with the last rowid read:
    /// the embedded database read in pages, so that a large one is never held in memory.
    func migrationRows(_ table: MigratedTable, after rowid: Int64, limit: Int) async throws -> (rows: [[MigratedValue]], last: Int64) {
        try await database.read { db in
            let columns = table.columns.map { "\"\($0.sqlite)\"" }.joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: "SELECT rowid, \(columns) FROM \"\(table.sqlite)\" WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                        arguments: [rowid, limit])
            let values = rows.map { row in
                table.columns.enumerated().map { index, column -> MigratedValue in
                    let value: DatabaseValue = row[index + 1]
                    switch column.kind {
                    case .text: return .text(String.fromDatabaseValue(value))
                    case .integer: return .integer(Int64.fromDatabaseValue(value))
                    case .real: return .real(Double.fromDatabaseValue(value))
                    case .boolean: return .boolean(Bool.fromDatabaseValue(value))
                    case .date: return .date(Date.fromDatabaseValue(value))
                    case .bytes: return .bytes(Data.fromDatabaseValue(value))
                    case .json: return .json(String.fromDatabaseValue(value) ?? "{}")
                    }
                }
            }
            return (values, rows.last.map { $0[0] } ?? rowid)
        }
    }

    /// How many rows `table` has, for progress.
    func migrationRowCount(_ table: MigratedTable) async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \"\(table.sqlite)\"") ?? 0 }
    }

    /// The uploads still receiving, which `migrate` does not move (their bytes are part files).
    func uploadsReceiving() async throws -> Int {
        try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM upload WHERE state = 'receiving'") ?? 0 }
    }
}
