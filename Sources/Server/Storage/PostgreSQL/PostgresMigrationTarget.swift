import Foundation
import PostgresNIO

extension PostgresEvidenceRepository {
    /// Stores rows moved from another database in one transaction, skipping rows stored already
    /// (a second run after an interruption); returns how many were new.
    func insertMigrated(_ table: MigratedTable, rows: [[MigratedValue]]) async throws -> Int {
        guard !rows.isEmpty else { return 0 }
        let names = table.columns.map(\.postgres).joined(separator: ", ")
        return try await database.transaction { connection, logger in
            var inserted = 0
            for row in rows {
                var bindings = PostgresBindings(capacity: row.count)
                var placeholders: [String] = []
                for (index, value) in row.enumerated() {
                    switch value {
                    case .text(let text): bindings.append(text)
                    case .integer(let number): bindings.append(number)
                    case .real(let number): bindings.append(number)
                    case .boolean(let flag): bindings.append(flag)
                    case .date(let date): bindings.append(date)
                    case .bytes(let data): try bindings.append(data)
                    case .json(let text): bindings.append(text)
                    }
                    placeholders.append(value.isJSON ? "$\(index + 1)::jsonb" : "$\(index + 1)")
                }
                let sql = "INSERT INTO \(table.postgres) (\(names)) VALUES (\(placeholders.joined(separator: ", "))) "
                    + "ON CONFLICT (\(table.conflictKey)) DO NOTHING RETURNING 1"
                inserted += try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger).collect().count
            }
            if table.postgres == MigratedTable.bundleImport.postgres {
                // Ids were kept: the sequence must start past them.
                try await connection.query("""
                    SELECT setval(pg_get_serial_sequence('bundle_import', 'id'), greatest((SELECT max(id) FROM bundle_import), 1))
                    """, logger: logger)
            }
            return inserted
        }
    }
}

extension MigratedValue {
    var isJSON: Bool { if case .json = self { true } else { false } }
}
