import Evidence
import Foundation
import GRDB

/// Which recordings `fieldgate list` shows.
public struct RecordingFilter: Sendable {
    public var officer: String?
    public var camera: String?
    public var since: Date?
    public var until: Date?
    public var importantOnly = false
    public var flaggedOnly = false

    public init(officer: String? = nil, camera: String? = nil, since: Date? = nil, until: Date? = nil,
                importantOnly: Bool = false, flaggedOnly: Bool = false) {
        self.officer = officer
        self.camera = camera
        self.since = since
        self.until = until
        self.importantOnly = importantOnly
        self.flaggedOnly = flaggedOnly
    }
}

/// Totals for `fieldgate status`.
public struct StoreStatus: Sendable, Codable, Equatable {
    public struct Group: Sendable, Codable, Equatable {
        public var key: String
        public var recordings: Int
        public var bytes: Int64
        public var flagged: Int
    }

    public var recordings: Int
    public var bytes: Int64
    public var byState: [String: Int]
    public var byCamera: [Group]
    public var byOfficer: [Group]
    public var flagged: Int
    public var storeBytes: Int64
    public var lastCollection: Collection?
    /// Upload states, the share retained online, and what waits for sync and why.
    public var sync: SyncStatus?
}

extension EvidenceStore {
    /// The A/V ledger (音像记录台账): recordings by start time (corrected), oldest first.
    public func recordings(matching filter: RecordingFilter = RecordingFilter()) throws -> [Recording] {
        try database.read { db in
            var request = Recording.all()
            if let officer = filter.officer { request = request.filter(Column("officerNumber") == officer) }
            if let camera = filter.camera { request = request.filter(Column("cameraSerial") == camera) }
            let start = SQL("COALESCE(correctedStartedAt, mediaCreatedAt, collectedAt)")
            if let since = filter.since { request = request.filter(sql: "COALESCE(correctedStartedAt, mediaCreatedAt, collectedAt) >= ?", arguments: [since]) }
            if let until = filter.until { request = request.filter(sql: "COALESCE(correctedStartedAt, mediaCreatedAt, collectedAt) < ?", arguments: [until]) }
            if filter.importantOnly { request = request.filter(Column("important") == true) }
            if filter.flaggedOnly { request = request.filter(Column("flags") != RecordingFlags()) }
            return try request.order(start, Column("id")).fetchAll(db)
        }
    }

    public func status() throws -> StoreStatus {
        var status = try database.read { db in
            // A recording is flagged when its set of flags is not the empty set.
            let flagged: SQL = "SUM(CASE WHEN flags != \(RecordingFlags()) THEN 1 ELSE 0 END)"
            func groups(_ column: String) throws -> [StoreStatus.Group] {
                try Row.fetchAll(db, SQLRequest<Row>(literal: """
                    SELECT COALESCE(\(sql: column), '(unknown)') AS key, COUNT(*) AS n, SUM(size) AS bytes, \(flagged) AS flagged
                    FROM recording GROUP BY key ORDER BY key
                    """)).map { StoreStatus.Group(key: $0["key"], recordings: $0["n"], bytes: $0["bytes"] ?? 0, flagged: $0["flagged"] ?? 0) }
            }
            let totalsQuery: SQL = "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes, \(flagged) AS flagged FROM recording"
            let totals = try Row.fetchAll(db, SQLRequest<Row>(literal: totalsQuery))[0]
            var byState: [String: Int] = [:]
            let recordingStates = SyncItem.filter(SyncItem.Columns.kind == EvidenceKind.recording)
                .select(SyncItem.Columns.state, count(Column.rowID).forKey("n")).group(SyncItem.Columns.state).asRequest(of: Row.self)
            for row in try recordingStates.fetchAll(db) {
                byState[row["state"]] = row["n"]
            }
            let blobBytes = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM (SELECT DISTINCT sha256, size FROM recording)") ?? 0
            return StoreStatus(
                recordings: totals["n"], bytes: totals["bytes"], byState: byState, byCamera: try groups("cameraSerial"),
                byOfficer: try groups("officerNumber"), flagged: totals["flagged"] ?? 0, storeBytes: blobBytes,
                lastCollection: try Collection.order(Column("id").desc).fetchOne(db))
        }
        status.sync = try syncStatus()
        return status
    }
}
