import Evidence
import Foundation
import GRDB

/// The gateway's evidence store: one SQLite database (WAL) for metadata, custody and the upload
/// queue, and content-addressed blobs for the bytes, under one home folder.
public final class EvidenceStore: Sendable {
    public let home: URL
    public let database: DatabasePool
    public let blobs: BlobStore

    /// `FIELDGATE_HOME`, else /var/lib/fieldgate for root, else ~/.local/share/fieldgate.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let home = environment["FIELDGATE_HOME"], !home.isEmpty { return URL(fileURLWithPath: home) }
        if getuid() == 0 { return URL(fileURLWithPath: "/var/lib/fieldgate") }
        let base = environment["XDG_DATA_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share")
        return base.appendingPathComponent("fieldgate")
    }

    /// Opens (creating and migrating when needed) the store in `home`, and clears temporary
    /// files a killed process left behind.
    public init(home: URL) throws(StoreError) {
        self.home = home
        do {
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError.io(home.path, error.localizedDescription)
        }
        blobs = try BlobStore(root: home)
        blobs.removeOrphanTemporaries()
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // FULL: a committed row survives power loss, as the blobs it points at do.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Statement journals (each insert into a table with triggers and indexes keeps one,
            // to undo just that statement) stay in memory: on disk they spilled to a temporary
            // file under /var/tmp, some 26 writes for each small file collected.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            database = try DatabasePool(path: home.appendingPathComponent("fieldgate.sqlite").path, configuration: configuration)
            try Schema.migrator.migrate(database)
        } catch {
            throw StoreError.database("\(home.appendingPathComponent("fieldgate.sqlite").path): \(error)")
        }
    }

    // MARK: Officers, cameras, cases

    /// Adds or updates officers; returns how many rows changed.
    @discardableResult
    public func save(officers: [Officer]) throws -> Int {
        try database.write { db in
            for officer in officers { try officer.upsert(db) }
            return officers.count
        }
    }

    public func officer(number: String) throws -> Officer? {
        try database.read { db in try Officer.fetchOne(db, key: number) }
    }

    public func officers() throws -> [Officer] {
        try database.read { db in try Officer.order(Column("number")).fetchAll(db) }
    }

    public func save(cases: [EnforcementCase]) throws {
        try database.write { db in
            for enforcementCase in cases { try enforcementCase.upsert(db) }
        }
    }

    public func cases() throws -> [EnforcementCase] {
        try database.read { db in try EnforcementCase.order(Column("number")).fetchAll(db) }
    }

    public func camera(serial: String) throws -> Camera? {
        try database.read { db in try Camera.fetchOne(db, key: serial) }
    }

    public func cameras() throws -> [Camera] {
        try database.read { db in try Camera.order(Column("serial")).fetchAll(db) }
    }

    /// Registers a camera as one of the unit's own; a custody event records it.
    public func registerCamera(serial: String, vendor: String?, model: String?, at date: Date = Date()) throws -> Camera {
        try database.write { db in
            var camera = try Camera.fetchOne(db, key: serial) ?? Camera(serial: serial)
            if camera.registered { return camera }
            camera.registered = true
            camera.registeredAt = date
            camera.vendor = vendor ?? camera.vendor
            camera.model = model ?? camera.model
            try camera.upsert(db)
            try CustodyChain.append(db, kind: .registered, at: date, camera: serial,
                                    details: ["vendor": vendor ?? "", "model": model ?? ""])
            return camera
        }
    }

    /// Notes that a camera was docked (registered or not), with what it said about itself.
    public func noteCameraSeen(serial: String, vendor: String?, model: String?, officerNumber: String?, at date: Date = Date()) throws {
        try database.write { db in
            var camera = try Camera.fetchOne(db, key: serial) ?? Camera(serial: serial)
            camera.vendor = vendor ?? camera.vendor
            camera.model = model ?? camera.model
            camera.officerNumber = officerNumber ?? camera.officerNumber
            camera.lastSeenAt = date
            try camera.upsert(db)
        }
    }

    /// Records a custody event on its own (clock drift, assignment, …).
    @discardableResult
    public func appendEvent(_ kind: CustodyKind, camera: String? = nil, recordingId: Int64? = nil, sha256: String? = nil,
                            details: [String: String] = [:], at date: Date = Date()) throws -> CustodyEvent {
        try writeEvidence { db in
            try CustodyChain.append(db, kind: kind, at: date, camera: camera, recordingId: recordingId,
                                    sha256: sha256, details: details)
        }
    }

    public func custodyEvents(recordingId: Int64? = nil) throws -> [CustodyEvent] {
        try database.read { db in
            var request = CustodyEvent.order(Column("seq"))
            if let recordingId { request = request.filter(Column("recordingId") == recordingId) }
            return try request.fetchAll(db)
        }
    }

    // MARK: Recordings

    /// Every recording collected from a camera, by its path on the volume: read once per
    /// collection to tell already-collected files (same path, size and time) from new ones.
    public func recordingsBySourcePath(camera: String) throws -> [Data: [Recording]] {
        try database.read { db in
            Dictionary(grouping: try Recording.filter(Column("cameraSerial") == camera).fetchAll(db), by: \.sourcePath)
        }
    }

    /// Commits recordings whose blobs are already durable, each with its `collected` and
    /// `verified` events (and `flagged` when flagged), in one transaction. A recording that is
    /// already stored (same camera, path and hash) is returned as it was, not added again.
    public func commit(_ recordings: [Recording], at date: Date = Date()) throws -> [(recording: Recording, isNew: Bool)] {
        try writeEvidence { db in
            var results: [(Recording, Bool)] = []
            var chain = try CustodyChain.Appender(db)
            // Another collection of the same camera (the station and a `collect` by hand) may have
            // stored the file meanwhile; the id alone answers that, and only a hit reads the row.
            let existing = try db.cachedStatement(sql: "SELECT id FROM recording WHERE cameraSerial = ? AND sourcePath = ? AND sha256 = ?")
            for var recording in recordings {
                if let storedId = try Int64.fetchOne(existing, arguments: [recording.cameraSerial, recording.sourcePath, recording.sha256]),
                   let stored = try Recording.fetchOne(db, key: storedId) {
                    results.append((stored, false))
                    continue
                }
                recording.verifiedAt = date
                try recording.insertThroughCachedStatement(db)
                var details = ["source": recording.sourceName, "size": String(recording.size), "mediaType": recording.mediaType.rawValue]
                if let drift = recording.clockDriftSeconds { details["clockDriftSeconds"] = String(Int(drift.rounded())) }
                try chain.append(kind: .collected, at: date, camera: recording.cameraSerial, recordingId: recording.id,
                                 sha256: recording.sha256, details: details)
                try chain.append(kind: .verified, at: date, camera: recording.cameraSerial, recordingId: recording.id,
                                 sha256: recording.sha256, details: ["method": "sha256 computed while copying, size and time re-checked"])
                if recording.isFlagged {
                    try chain.append(kind: .flagged, at: date, camera: recording.cameraSerial, recordingId: recording.id,
                                     sha256: recording.sha256, details: ["flags": recording.flags.text])
                }
                results.append((recording, true))
            }
            return results
        }
    }

    /// A write that stores evidence: a full disk met by SQLite (the WAL cannot grow) is the same
    /// `diskFull` as one met writing a blob, so the caller stops the same way; a row naming
    /// something the store does not hold is `danglingReference`.
    func writeEvidence<T>(_ updates: (Database) throws -> T) throws -> T {
        do {
            return try database.write(updates)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw StoreError.diskFull(home.appendingPathComponent("fieldgate.sqlite").path)
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
            throw StoreError.danglingReference(error.message ?? "foreign key constraint failed")
        }
    }

    /// Marks a recording wiped from its camera, with a custody event.
    public func markWiped(_ recording: Recording, at date: Date = Date()) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE recording SET wipedAt = ? WHERE id = ?", arguments: [date, recording.id])
            try CustodyChain.append(db, kind: .wiped, at: date, camera: recording.cameraSerial, recordingId: recording.id,
                                    sha256: recording.sha256, details: ["source": recording.sourceName])
        }
    }

    public func recording(id: Int64) throws -> Recording? {
        try database.read { db in try Recording.fetchOne(db, key: id) }
    }

    // MARK: Collections

    public func begin(_ collection: Collection) throws -> Collection {
        try database.write { db in
            var collection = collection
            try collection.insert(db)
            return collection
        }
    }

    public func finish(_ collection: Collection) throws {
        try database.write { db in try collection.update(db) }
    }
}
