import EvidenceBundle
import Foundation

/// What `fieldgate-server migrate` did, table by table.
public struct MigrationSummary: Codable, Sendable {
    public struct Table: Codable, Sendable {
        public var table: String
        public var rows: Int
        /// Rows stored by this run; the rest were there already (moved by an earlier run).
        public var new: Int
    }

    public struct FailedBlob: Codable, Sendable {
        public var sha256: String
        public var reason: String
    }

    public var serverKeyFingerprint: String
    public var blobs: Int
    public var blobsMoved: Int
    public var bytesMoved: Int64
    /// Blobs the target held already: moved by an earlier run, or the same folder.
    public var blobsAlreadyThere: Int
    /// Blobs not moved: missing from the source, or their bytes do not match their hash.
    public var failedBlobs: [FailedBlob]
    public var tables: [Table]
    /// Uploads still in progress at the source; their gateways start them again.
    public var uploadsNotMoved: Int
}

/// How far `migrate` is, for its progress lines.
public enum MigrationProgress: Sendable {
    case blob(done: Int, of: Int, bytes: Int64)
    case table(String, rows: Int, new: Int)
}

public enum MigrationError: Error, CustomStringConvertible {
    case targetNotPostgreSQL
    case noSourceDatabase(String)
    case sourceIsTarget

    public var description: String {
        switch self {
        case .targetNotPostgreSQL:
            "migrate moves a data folder's records into PostgreSQL: give --database postgres://USER@HOST:PORT/DB (and --blobs s3://BUCKET for the blobs)"
        case .noSourceDatabase(let path): "\(path) has no server.sqlite: --from names the data folder of the server to move"
        case .sourceIsTarget: "--from and --data name the same folder and --blobs names no bucket: there are no blobs to move"
        }
    }
}

/// Moves a county's server (SQLite and a folder in one data folder) into the larger setup:
/// its records into PostgreSQL, its blobs into the `blobs` store (S3), its key into the
/// database. Every blob is hashed as it is read and moved only if it matches its name; every
/// row and blob already at the target is skipped, so an interrupted run is finished by running
/// it again. The source is only read.
public enum ServerMigration {
    static let pageSize = 500

    public static func migrate(from source: URL, dataDirectory: URL, database: DatabaseLocation, blobs blobLocation: BlobLocation,
                               serverKey: URL? = nil,
                               progress: @Sendable (MigrationProgress) -> Void = { _ in }) async throws -> MigrationSummary {
        guard case .postgres(let location) = database else { throw MigrationError.targetNotPostgreSQL }
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("server.sqlite").path) else {
            throw MigrationError.noSourceDatabase(source.path)
        }
        let sourceFolder = try DataFolder(source)
        let sameFolder = source.standardizedFileURL.path == dataDirectory.standardizedFileURL.path
        if sameFolder, case .dataFolder = blobLocation { throw MigrationError.sourceIsTarget }
        let from = try sourceFolder.openRepository()
        let sourceBlobs = try FolderBlobStorage(root: sourceFolder.blobs)
        let folder = try DataFolder(dataDirectory)
        let target = PostgresEvidenceRepository(location: location)
        try await target.prepare()
        let targetBlobs = try folder.blobStorage(for: blobLocation).0
        // The key first: receipts issued by the source verify with it, and gateways pinned it.
        guard let keys = target.serverKeyStore else { throw MigrationError.targetNotPostgreSQL }
        let key = try await ServerKey.resolve(store: keys, override: serverKey, legacyFile: sourceFolder.key)

        var summary = MigrationSummary(serverKeyFingerprint: ServerKey.fingerprint(key.publicKey.rawRepresentation), blobs: 0,
                                       blobsMoved: 0, bytesMoved: 0, blobsAlreadyThere: 0, failedBlobs: [], tables: [],
                                       uploadsNotMoved: try await from.uploadsReceiving())
        summary.blobs = try await from.migrationRowCount(.blob)
        try FileManager.default.createDirectory(at: folder.uploads, withIntermediateDirectories: true)
        var rowid: Int64 = 0
        var done = 0
        while true {
            let page = try await from.migrationRows(.blob, after: rowid, limit: pageSize)
            guard !page.rows.isEmpty else { break }
            rowid = page.last
            let hashes = page.rows.compactMap { $0.first?.text }
            let held = try await target.heldBlobs(among: hashes)
            for row in page.rows {
                guard let sha256 = row[0].text, case .integer(let size?) = row[1] else { continue }
                done += 1
                defer { progress(.blob(done: done, of: summary.blobs, bytes: summary.bytesMoved)) }
                if held.contains(sha256) {
                    summary.blobsAlreadyThere += 1
                    continue
                }
                do {
                    let scratch = folder.uploads.appendingPathComponent("migrate-\(UUID().uuidString.lowercased())")
                    try await BlockingIO.run { try copyVerifying(sourceBlobs.path(of: sha256), to: scratch, sha256: sha256, size: size) }
                    do {
                        try await targetBlobs.store(verifiedFile: scratch, sha256: sha256)
                    } catch {
                        unlink(scratch.path)
                        throw error
                    }
                    summary.bytesMoved += size
                } catch let error as MigrationBlobError {
                    summary.failedBlobs.append(MigrationSummary.FailedBlob(sha256: sha256, reason: error.description))
                    continue
                }
                _ = try await target.insertMigrated(.blob, rows: [row])
                summary.blobsMoved += 1
                FaultPoint.migratedBlob.reach()
            }
        }
        for table in MigratedTable.records {
            var rowid: Int64 = 0
            var moved = MigrationSummary.Table(table: table.postgres, rows: 0, new: 0)
            while true {
                let page = try await from.migrationRows(table, after: rowid, limit: pageSize)
                guard !page.rows.isEmpty else { break }
                rowid = page.last
                moved.rows += page.rows.count
                moved.new += try await target.insertMigrated(table, rows: page.rows)
            }
            progress(.table(table.postgres, rows: moved.rows, new: moved.new))
            summary.tables.append(moved)
        }
        return summary
    }

    /// Copies a source blob to `destination`, synced, hashing as it reads (``VerifiedCopy``);
    /// refused (and nothing left) when the bytes are not the blob their name says.
    static func copyVerifying(_ source: URL, to destination: URL, sha256: String, size: Int64) throws {
        guard FileManager.default.fileExists(atPath: source.path) else { throw MigrationBlobError.missing(source.path) }
        let copied: Int64
        do {
            copied = try VerifiedCopy.copy(source, to: destination, expecting: sha256)
        } catch is BagCheckError {
            throw MigrationBlobError.mismatch(source.path, expectedSize: size)
        } catch let error as FileError {
            throw MigrationBlobError.unreadable(source.path, "\(error)")
        }
        guard copied == size else {
            unlink(destination.path)
            throw MigrationBlobError.mismatch(source.path, expectedSize: size)
        }
    }
}

/// Why one blob was not moved; the migration goes on with the others and reports it.
enum MigrationBlobError: Error, CustomStringConvertible {
    case missing(String)
    case unreadable(String, String)
    case mismatch(String, expectedSize: Int64)

    var description: String {
        switch self {
        case .missing(let path): "\(path) is missing: restore it from backup and run migrate again"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .mismatch(let path, let expectedSize):
            "\(path) does not hold the blob its name says (\(expectedSize) bytes with that SHA-256 expected): restore it from backup and run migrate again"
        }
    }
}

extension MigratedValue {
    var text: String? { if case .text(let text) = self { text } else { nil } }
}
