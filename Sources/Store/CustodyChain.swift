import Common
import Crypto
import Foundation
import GRDB

/// What happened to evidence; every kind is one custody event in the chain.
public enum CustodyKind: String, Codable, Sendable, CaseIterable {
    case collected, verified, flagged, wiped, assigned, registered
    case clockDrift = "clock-drift"
    case clockCorrected = "clock-corrected"
    case uploaded, receipted, printed
    /// The server refused a blob because its bytes did not match its hash (see `audit verify`).
    case uploadRefused = "upload-refused"
    case fingerprintCaptured = "fingerprint-captured"
}

/// One link of the custody chain. Its hash covers the previous link's hash and its own
/// canonical content, so changing, removing or reordering any event breaks every later link.
public struct CustodyEvent: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "custodyEvent"
    public var seq: Int64
    /// ISO 8601 UTC with milliseconds, as stored (hashed as text, never re-formatted).
    public var at: String
    public var kind: String
    public var cameraSerial: String?
    public var recordingId: Int64?
    public var sha256: String?
    /// JSON object with sorted keys, as stored.
    public var details: String
    public var previousHash: String
    public var hash: String

    /// The hash of the chain's start: no event before the first.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The text that is hashed: the fields joined by the ASCII unit separator (which JSON escapes, so
    /// it cannot appear inside a field).
    var canonicalContent: String {
        ["fieldgate-custody-v1", String(seq), at, kind, cameraSerial ?? "", recordingId.map(String.init) ?? "",
         sha256 ?? "", details].joined(separator: "\u{1F}")
    }

    func computedHash() -> String {
        SHA256.hash(data: Data((previousHash + "\u{1E}" + canonicalContent).utf8)).hexString
    }
}

enum CustodyChain {
    static let timestampFormat: Date.ISO8601FormatStyle = .iso8601.year().month().day().time(includingFractionalSeconds: true)
        .timeZone(separator: .omitted).dateSeparator(.dash).timeSeparator(.colon)

    /// Appends an event inside the caller's transaction.
    @discardableResult
    static func append(_ db: Database, kind: CustodyKind, at date: Date = Date(), camera: String? = nil,
                       recordingId: Int64? = nil, sha256: String? = nil, details: [String: String] = [:]) throws -> CustodyEvent {
        var appender = try Appender(db)
        return try appender.append(kind: kind, at: date, camera: camera, recordingId: recordingId, sha256: sha256, details: details)
    }

    /// Appends many events in one transaction, reading the chain's head once.
    struct Appender {
        private let db: Database
        private var head: (seq: Int64, hash: String)
        private let encoder: JSONEncoder

        init(_ db: Database) throws {
            self.db = db
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM custodyEvent ORDER BY seq DESC LIMIT 1"))
            head = row.map { ($0["seq"], $0["hash"]) } ?? (0, CustodyEvent.genesisHash)
            encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        }

        @discardableResult
        mutating func append(kind: CustodyKind, at date: Date, camera: String? = nil, recordingId: Int64? = nil,
                             sha256: String? = nil, details: [String: String] = [:]) throws -> CustodyEvent {
            var event = CustodyEvent(
                seq: head.seq + 1, at: date.formatted(CustodyChain.timestampFormat), kind: kind.rawValue, cameraSerial: camera,
                recordingId: recordingId, sha256: sha256, details: String(decoding: try encoder.encode(details), as: UTF8.self),
                previousHash: head.hash, hash: "")
            event.hash = event.computedHash()
            try event.insert(db)
            head = (event.seq, event.hash)
            return event
        }
    }
}
