import Evidence
import Foundation
import GRDB

/// An enforcement officer (执法人员) and the state of their certificate (执法证).
public struct Officer: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public enum CertificateStatus: String, Codable, Sendable, CaseIterable { case valid, expired, revoked }
    public static let databaseTableName = "officer"
    /// The 6-digit officer number cameras carry (userNo).
    public var number: String
    public var name: String
    /// 执法证号.
    public var certificateNumber: String
    public var certificateStatus: CertificateStatus
    /// Last valid day, "YYYY-MM-DD"; nil when open-ended.
    public var certificateExpires: String?
    public var unit: String?

    public init(number: String, name: String, certificateNumber: String, certificateStatus: CertificateStatus,
                certificateExpires: String? = nil, unit: String? = nil) {
        self.number = number
        self.name = name
        self.certificateNumber = certificateNumber
        self.certificateStatus = certificateStatus
        self.certificateExpires = certificateExpires
        self.unit = unit
    }

    /// Whether a recording made on `day` ("YYYY-MM-DD") counts as made under a valid certificate.
    public func isCertified(on day: String?) -> Bool {
        guard certificateStatus == .valid else { return false }
        guard let expires = certificateExpires, let day else { return true }
        return day <= expires
    }
}

/// A body camera the gateway has met, registered or not.
public struct Camera: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public static let databaseTableName = "camera"
    public var serial: String
    public var vendor: String?
    public var model: String?
    /// Registered cameras are trusted; others are collected but flagged.
    public var registered: Bool
    public var registeredAt: Date?
    public var lastSeenAt: Date?
    /// The officer bound to the camera (from its ZFY_INFO record), if known.
    public var officerNumber: String?

    public init(serial: String, vendor: String? = nil, model: String? = nil, registered: Bool = false,
                registeredAt: Date? = nil, lastSeenAt: Date? = nil, officerNumber: String? = nil) {
        self.serial = serial
        self.vendor = vendor
        self.model = model
        self.registered = registered
        self.registeredAt = registeredAt
        self.lastSeenAt = lastSeenAt
        self.officerNumber = officerNumber
    }
}

/// A case (案件) that evidence can be bound to.
/// How a case is decided: 简易程序 on the spot, or 普通程序.
public enum CaseProcedure: String, Codable, Sendable, CaseIterable {
    case simple, general
}

public struct EnforcementCase: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public static let databaseTableName = "enforcementCase"
    public var number: String
    public var title: String
    public var procedure: CaseProcedure
    public var openedAt: String?

    public init(number: String, title: String, procedure: CaseProcedure, openedAt: String? = nil) {
        self.number = number
        self.title = title
        self.procedure = procedure
        self.openedAt = openedAt
    }
}

/// One collected recording: where it came from, what it is, who made it, and its stored bytes.
public struct Recording: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, StoredDates {
    public static let databaseTableName = "recording"
    public var id: Int64?
    public var cameraSerial: String
    /// The file's path on the camera's volume, as raw bytes (names need not be UTF-8).
    public var sourcePath: Data
    /// The same path for people: invalid UTF-8 bytes shown as \xNN.
    public var sourceName: String
    public var size: Int64
    public var sourceModified: Date?
    public var sha256: String
    public var mediaType: MediaType
    public var container: String?
    public var durationSeconds: Double?
    public var mediaCreatedAt: Date?
    public var capturedAtLocal: String?
    /// The start time in the file name, on the camera's clock, "YYYYMMDDhhmmss"; nil when the name breaks the rule.
    public var cameraStartedAt: String?
    /// The start time corrected for the camera's measured clock drift, in UTC.
    public var correctedStartedAt: Date?
    public var clockDriftSeconds: Double?
    public var sequence: Int?
    public var important: Bool
    public var officerNumber: String?
    /// Why the recording needs a person's attention (stored as text, e.g. "unregistered-camera,unknown-officer").
    public var flags: RecordingFlags
    /// What the probe found wrong with the content (JSON array of text).
    public var problems: String
    public var collectedAt: Date
    public var verifiedAt: Date?
    public var wipedAt: Date?
    /// When the local copy was removed to make room, the server holding it per its receipt (v5).
    public var localCopyRemovedAt: Date?
    /// The case (案件) it is bound to (`fieldgate cases bind`, v9).
    public var caseNumber: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var isFlagged: Bool { !flags.isEmpty }

    public init(cameraSerial: String, sourcePath: Data, sourceName: String, size: Int64, sourceModified: Date?,
                sha256: String, mediaType: MediaType, container: String? = nil, durationSeconds: Double? = nil,
                mediaCreatedAt: Date? = nil, capturedAtLocal: String? = nil, cameraStartedAt: String? = nil,
                correctedStartedAt: Date? = nil, clockDriftSeconds: Double? = nil, sequence: Int? = nil,
                important: Bool = false, officerNumber: String? = nil, flags: RecordingFlags = [], problems: String = "[]",
                collectedAt: Date) {
        self.cameraSerial = cameraSerial
        self.sourcePath = sourcePath
        self.sourceName = sourceName
        self.size = size
        self.sourceModified = sourceModified
        self.sha256 = sha256
        self.mediaType = mediaType
        self.container = container
        self.durationSeconds = durationSeconds
        self.mediaCreatedAt = mediaCreatedAt
        self.capturedAtLocal = capturedAtLocal
        self.cameraStartedAt = cameraStartedAt
        self.correctedStartedAt = correctedStartedAt
        self.clockDriftSeconds = clockDriftSeconds
        self.sequence = sequence
        self.important = important
        self.officerNumber = officerNumber
        self.flags = flags
        self.problems = problems
        self.collectedAt = collectedAt
    }
}

extension Recording {
    /// The same row `insert` writes (every column; the tests compare the two), through one
    /// statement prepared once per connection: for small files, building the statement for
    /// each row was most of the commit.
    mutating func insertThroughCachedStatement(_ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO recording (cameraSerial, sourcePath, sourceName, size, sourceModified, sha256, mediaType, container,
                durationSeconds, mediaCreatedAt, capturedAtLocal, cameraStartedAt, correctedStartedAt, clockDriftSeconds,
                sequence, important, officerNumber, flags, problems, collectedAt, verifiedAt, wipedAt, localCopyRemovedAt)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                cameraSerial, sourcePath, sourceName, size, StoredDate.databaseValue(sourceModified), sha256, mediaType, container,
                durationSeconds, StoredDate.databaseValue(mediaCreatedAt), capturedAtLocal, cameraStartedAt,
                StoredDate.databaseValue(correctedStartedAt), clockDriftSeconds, sequence, important, officerNumber, flags, problems,
                StoredDate.databaseValue(collectedAt), StoredDate.databaseValue(verifiedAt), StoredDate.databaseValue(wipedAt),
                StoredDate.databaseValue(localCopyRemovedAt),
            ])
        id = db.lastInsertedRowID
    }
}

/// One collection run: a camera's volume or an imported folder.
public struct Collection: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, StoredDates {
    public static let databaseTableName = "collection"
    public var id: Int64?
    public var cameraSerial: String
    public var source: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var newCount: Int
    public var alreadyCount: Int
    public var flaggedCount: Int
    public var failedCount: Int
    public var bytes: Int64

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(cameraSerial: String, source: String, startedAt: Date) {
        self.cameraSerial = cameraSerial
        self.source = source
        self.startedAt = startedAt
        newCount = 0
        alreadyCount = 0
        flaggedCount = 0
        failedCount = 0
        bytes = 0
    }
}

/// Flags are stored as their comma-separated text (the column has always held that).
/// Stored as its name ("video", "photo", "audio", "unknown"), as every earlier build wrote it.
extension MediaType: DatabaseValueConvertible {}

extension RecordingFlags: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { text.databaseValue }

    public static func fromDatabaseValue(_ value: DatabaseValue) -> RecordingFlags? {
        String.fromDatabaseValue(value).flatMap { try? RecordingFlags(text: $0) }
    }
}
