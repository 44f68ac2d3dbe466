import Common
import Crypto
import Evidence
import Foundation
import GRDB

// The chain's links (CustodyEvent, CustodyKind) are Evidence's; the store keeps them in a table.
extension CustodyEvent: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "custodyEvent"
}

extension CustodyKind: DatabaseValueConvertible {}

extension CustodyEvent {
    /// The same row `insert` writes, through one statement prepared once per connection: a
    /// small file's commit writes three events, and building the statement each time cost more
    /// than the write.
    func insertThroughCachedStatement(_ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO custodyEvent (seq, at, kind, cameraSerial, recordingId, sha256, details, previousHash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [seq, at, kind, cameraSerial, recordingId, sha256, details, previousHash, hash])
    }
}

enum CustodyChain {

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
        /// A commit's events share their time: it is written once.
        private var lastTime: (date: Date, text: String)?

        init(_ db: Database) throws {
            self.db = db
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM custodyEvent ORDER BY seq DESC LIMIT 1"))
            head = row.map { ($0["seq"], $0["hash"]) } ?? (0, CustodyEvent.genesisHash)
        }

        @discardableResult
        mutating func append(kind: CustodyKind, at date: Date, camera: String? = nil, recordingId: Int64? = nil,
                             sha256: String? = nil, details: [String: String] = [:]) throws -> CustodyEvent {
            let at = lastTime.flatMap { $0.date == date ? $0.text : nil } ?? Timestamp.string(date)
            lastTime = (date, at)
            var event = CustodyEvent(
                seq: head.seq + 1, at: at, kind: kind, cameraSerial: camera,
                recordingId: recordingId, sha256: sha256, details: JSONText.object(details),
                previousHash: head.hash, hash: "")
            event.hash = event.computedHash()
            try event.insertThroughCachedStatement(db)
            head = (event.seq, event.hash)
            return event
        }
    }
}
