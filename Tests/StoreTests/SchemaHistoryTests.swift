import Foundation
import GRDB
@testable import Store
import TestSupport
import XCTest

/// Shipped migrations are never edited: v1–v3 of this build must still make exactly the schema
/// fieldgate 0.1.0 made (its store is the fixture), and the migrated fixture must end with the
/// schema a new store gets.
final class SchemaHistoryTests: XCTestCase {
    private var fixture: URL { repositoryRoot.appendingPathComponent("Tests/StoreTests/Fixtures/store-0.1.0/fieldgate.sqlite") }

    private func schema(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || COALESCE(sql, '') FROM sqlite_master
            WHERE name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY type, name
            """)
    }

    func testMigrationsV1ToV3StillMakeTheSchemaOfRelease010() throws {
        let fresh = try DatabaseQueue()
        try Schema.migrator.migrate(fresh, upTo: "v3: sync")
        let released = try DatabaseQueue(path: fixture.path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        XCTAssertEqual(try released.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") },
                       try fresh.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") },
                       "same names, same order")
        XCTAssertEqual(try fresh.read(schema), try released.read(schema))
    }

    func testTheMigratedFixtureEndsWithTheSchemaOfANewStore() throws {
        let copy = try temporaryFolder(self).appendingPathComponent("fieldgate.sqlite")
        try FileManager.default.copyItem(at: fixture, to: copy)
        let migrated = try DatabaseQueue(path: copy.path)
        try Schema.migrator.migrate(migrated)
        let fresh = try DatabaseQueue()
        try Schema.migrator.migrate(fresh)
        XCTAssertEqual(try migrated.read(schema), try fresh.read(schema))
    }
}
