import Crypto
import Foundation
import GRDB

/// The central server this gateway is enrolled with, and the gateway's own signing key.
public struct SyncEnrolment: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "syncEnrolment"
    public var id: Int64 = 1
    public var serverURL: String
    public var gatewayId: String
    public var gatewayName: String
    /// `Authorization: Bearer` credential.
    public var credential: String
    /// The pinned server key (raw Ed25519, base64): receipts must verify against it.
    public var serverPublicKey: String
    /// The gateway's Ed25519 private key (raw): it signs every manifest.
    public var gatewayPrivateKey: Data
    /// The certificate authority (PEM) that signs an https server's certificate, when it is the
    /// bureau's own rather than one the system trusts.
    public var caCertificatePEM: String?
    public var enrolledAt: Date

    public init(serverURL: String, gatewayId: String, gatewayName: String, credential: String, serverPublicKey: String,
                gatewayPrivateKey: Data, caCertificatePEM: String? = nil, enrolledAt: Date) {
        self.serverURL = serverURL
        self.gatewayId = gatewayId
        self.gatewayName = gatewayName
        self.credential = credential
        self.serverPublicKey = serverPublicKey
        self.gatewayPrivateKey = gatewayPrivateKey
        self.caCertificatePEM = caCertificatePEM
        self.enrolledAt = enrolledAt
    }
}

/// A batch of items on its way to the server. `prepared`: kept, manifest not yet answered;
/// `open`: the server knows it; `committed`: receipted.
public struct SyncBatch: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "syncBatch"
    public var id: Int64?
    public var batchKey: String
    public var serverBatchId: String?
    public var state: String
    public var createdAt: Date
    public var committedAt: Date?
    /// The receipt exactly as signed, and its signature, so it can be verified again later.
    public var receiptPayload: Data?
    public var receiptSignature: String?
    public var serverTime: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A tus upload in progress: where it is and what the server acknowledged.
public struct SyncUpload: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "syncUpload"
    public var sha256: String
    public var url: String
    public var offset: Int64
    public var length: Int64
    public var updatedAt: Date

    public init(sha256: String, url: String, offset: Int64, length: Int64, updatedAt: Date = Date()) {
        self.sha256 = sha256
        self.url = url
        self.offset = offset
        self.length = length
        self.updatedAt = updatedAt
    }
}

/// Where a recording is on its way to the server.
public enum UploadState: String, Codable, Sendable, CaseIterable {
    /// Collected, not yet in a batch.
    case pending
    /// In a batch the server has not receipted yet.
    case batched
    /// The server holds the blob; the receipt is still to come.
    case uploaded
    /// Retained online: the server signed a receipt for it.
    case receipted
    /// The server refused the bytes (they no longer match the hash): needs a person.
    case refused
}

/// What `status` says about sync: the share retained online (网上留存率) and what waits, and why.
public struct SyncStatus: Sendable, Codable, Equatable {
    public struct Waiting: Sendable, Codable, Equatable {
        public var recordingId: Int64
        public var camera: String
        public var source: String
        public var sha256: String
        public var state: String
        public var reason: String
    }

    public var server: String?
    public var gatewayName: String?
    public var collected: Int
    public var pending: Int
    public var uploading: Int
    public var uploaded: Int
    public var receipted: Int
    public var refused: Int
    /// receipted / collected, 0…1 (1 when nothing was collected).
    public var retainedOnline: Double
    public var lastReceiptAt: Date?
    /// Items that wait with a reason (refused, or a failed attempt), oldest first.
    public var waiting: [Waiting]
}

extension EvidenceStore {
    public func enrolment() throws -> SyncEnrolment? {
        try database.read { db in try SyncEnrolment.fetchOne(db) }
    }

    public func save(enrolment: SyncEnrolment) throws {
        try database.write { db in try enrolment.upsert(db) }
    }

    /// Batches started but not receipted, oldest first: a sync finishes them before it starts new ones.
    public func unfinishedBatches() throws -> [SyncBatch] {
        try database.read { db in
            try SyncBatch.filter(Column("state") != "committed").order(Column("id")).fetchAll(db)
        }
    }

    /// The recordings of a batch, in the order they were batched.
    public func recordings(inBatch batchId: Int64) throws -> [Recording] {
        try database.read { db in
            try Recording.fetchAll(db, sql: """
                SELECT recording.* FROM syncBatchItem JOIN recording ON recording.id = syncBatchItem.recordingId
                WHERE syncBatchItem.batchId = ? ORDER BY syncBatchItem.rowid
                """, arguments: [batchId])
        }
    }

    /// Upload states of the recordings of a batch.
    public func uploadStates(inBatch batchId: Int64) throws -> [Int64: UploadState] {
        try database.read { db in
            var states: [Int64: UploadState] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT uploadQueue.recordingId, uploadQueue.state FROM uploadQueue
                JOIN syncBatchItem ON syncBatchItem.recordingId = uploadQueue.recordingId AND syncBatchItem.batchId = ?
                """, arguments: [batchId]) {
                states[row["recordingId"]] = UploadState(rawValue: row["state"]) ?? .pending
            }
            return states
        }
    }

    /// Starts a batch of up to `limit` waiting recordings: important ones first, then oldest.
    /// Returns nil when nothing waits.
    public func prepareBatch(limit: Int, includeRefused: Bool = false, at date: Date = Date()) throws -> (SyncBatch, [Recording])? {
        try database.write { db in
            let states = includeRefused ? "'pending', 'refused'" : "'pending'"
            let recordings = try Recording.fetchAll(db, sql: """
                SELECT recording.* FROM uploadQueue JOIN recording ON recording.id = uploadQueue.recordingId
                WHERE uploadQueue.state IN (\(states))
                ORDER BY recording.important DESC, COALESCE(recording.correctedStartedAt, recording.mediaCreatedAt, recording.collectedAt),
                         recording.id
                LIMIT ?
                """, arguments: [limit])
            guard !recordings.isEmpty else { return nil }
            var batch = SyncBatch(batchKey: UUID().uuidString.lowercased(), state: "prepared", createdAt: date)
            try batch.insert(db)
            for recording in recordings {
                try db.execute(sql: "INSERT INTO syncBatchItem (batchId, recordingId, sha256) VALUES (?, ?, ?)",
                               arguments: [batch.id, recording.id, recording.sha256])
                try db.execute(sql: "UPDATE uploadQueue SET state = 'batched', batchId = ?, lastError = NULL, updatedAt = ? WHERE recordingId = ?",
                               arguments: [batch.id, date, recording.id])
            }
            return (batch, recordings)
        }
    }

    public func markOpened(batchId: Int64, serverBatchId: String) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE syncBatch SET serverBatchId = ?, state = 'open' WHERE id = ? AND state = 'prepared'",
                           arguments: [serverBatchId, batchId])
        }
    }

    public func upload(sha256: String) throws -> SyncUpload? {
        try database.read { db in try SyncUpload.fetchOne(db, key: sha256) }
    }

    public func save(upload: SyncUpload) throws {
        try database.write { db in try upload.upsert(db) }
    }

    public func removeUpload(sha256: String) throws {
        try database.write { db in _ = try SyncUpload.deleteOne(db, key: sha256) }
    }

    /// The server holds the blob (sent now, or already held): each of the batch's recordings with
    /// this hash gets an `uploaded` event, once.
    public func markUploaded(batchId: Int64, sha256: String, server: String, serverBatchId: String, sentBytes: Int64,
                             alreadyHeld: Bool, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            for recording in try recordingsWaiting(db, batchId: batchId, sha256: sha256, states: ["batched"]) {
                try db.execute(sql: "UPDATE uploadQueue SET state = 'uploaded', lastError = NULL, updatedAt = ? WHERE recordingId = ?",
                               arguments: [date, recording.id])
                try chain.append(kind: .uploaded, at: date, camera: recording.cameraSerial, recordingId: recording.id,
                                 sha256: sha256, details: ["server": server, "batch": serverBatchId, "sentBytes": String(sentBytes),
                                                           "alreadyHeld": alreadyHeld ? "true" : "false"])
            }
            _ = try SyncUpload.deleteOne(db, key: sha256)
        }
    }

    /// The server refused the blob's bytes: the recordings wait, named with the reason, and the
    /// refusal is a custody event.
    public func markRefused(batchId: Int64, sha256: String, reason: String, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            for recording in try recordingsWaiting(db, batchId: batchId, sha256: sha256, states: ["batched"]) {
                try db.execute(sql: "UPDATE uploadQueue SET state = 'refused', lastError = ?, attempts = attempts + 1, updatedAt = ? WHERE recordingId = ?",
                               arguments: [reason, date, recording.id])
                try chain.append(kind: .uploadRefused, at: date, camera: recording.cameraSerial, recordingId: recording.id,
                                 sha256: sha256, details: ["reason": reason])
            }
            _ = try SyncUpload.deleteOne(db, key: sha256)
        }
    }

    /// Stores a verified receipt and marks its items retained online, each with a `receipted` event.
    /// Items of the batch the receipt does not name go back to waiting.
    public func markReceipted(batchId: Int64, serverBatchId: String, payload: Data, signature: String, serverTime: String,
                              receiptedHashes: Set<String>, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            let receiptHash = SHA256.hash(data: payload).hexString
            for row in try Row.fetchAll(db, sql: """
                SELECT recording.id, recording.cameraSerial, recording.sha256, uploadQueue.state FROM syncBatchItem
                JOIN recording ON recording.id = syncBatchItem.recordingId
                JOIN uploadQueue ON uploadQueue.recordingId = recording.id
                WHERE syncBatchItem.batchId = ? ORDER BY syncBatchItem.rowid
                """, arguments: [batchId]) {
                let id: Int64 = row["id"], sha: String = row["sha256"], state: String = row["state"]
                guard state != UploadState.receipted.rawValue else { continue }
                if receiptedHashes.contains(sha) {
                    try db.execute(sql: "UPDATE uploadQueue SET state = 'receipted', lastError = NULL, updatedAt = ? WHERE recordingId = ?",
                                   arguments: [date, id])
                    try chain.append(kind: .receipted, at: date, camera: row["cameraSerial"], recordingId: id, sha256: sha,
                                     details: ["batch": serverBatchId, "serverTime": serverTime, "receiptSha256": receiptHash])
                } else if state != UploadState.refused.rawValue {
                    try db.execute(sql: "UPDATE uploadQueue SET state = 'pending', batchId = NULL, updatedAt = ? WHERE recordingId = ?",
                                   arguments: [date, id])
                }
            }
            try db.execute(sql: """
                UPDATE syncBatch SET state = 'committed', committedAt = ?, receiptPayload = ?, receiptSignature = ?, serverTime = ?
                WHERE id = ?
                """, arguments: [date, payload, signature, serverTime, batchId])
        }
    }

    /// Notes why the recordings of a batch (or every waiting one) did not go up this time.
    public func noteWaiting(batchId: Int64?, reason: String, at date: Date = Date()) throws {
        try database.write { db in
            if let batchId {
                try db.execute(sql: "UPDATE uploadQueue SET lastError = ?, attempts = attempts + 1, updatedAt = ? WHERE batchId = ? AND state IN ('batched', 'uploaded')",
                               arguments: [reason, date, batchId])
            } else {
                try db.execute(sql: "UPDATE uploadQueue SET lastError = ?, attempts = attempts + 1, updatedAt = ? WHERE state IN ('pending', 'batched', 'uploaded')",
                               arguments: [reason, date])
            }
        }
    }

    /// Recordings the server has receipted, of one camera: the `after-receipt` policy may free them.
    public func receiptedRecordingIds(camera: String) throws -> Set<Int64> {
        try database.read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT recording.id FROM recording JOIN uploadQueue ON uploadQueue.recordingId = recording.id
                WHERE recording.cameraSerial = ? AND uploadQueue.state = 'receipted'
                """, arguments: [camera]))
        }
    }

    public func syncStatus(waitingLimit: Int = 100) throws -> SyncStatus {
        try database.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM uploadQueue GROUP BY state") {
                counts[row["state"]] = row["n"]
            }
            let collected = counts.values.reduce(0, +)
            let receipted = counts[UploadState.receipted.rawValue] ?? 0
            let waiting = try Row.fetchAll(db, sql: """
                SELECT recording.id, recording.cameraSerial, recording.sourceName, recording.sha256, uploadQueue.state, uploadQueue.lastError
                FROM uploadQueue JOIN recording ON recording.id = uploadQueue.recordingId
                WHERE uploadQueue.state != 'receipted' AND uploadQueue.lastError IS NOT NULL
                ORDER BY uploadQueue.state = 'refused' DESC, recording.id LIMIT ?
                """, arguments: [waitingLimit]).map {
                SyncStatus.Waiting(recordingId: $0["id"], camera: $0["cameraSerial"], source: $0["sourceName"], sha256: $0["sha256"],
                                   state: $0["state"], reason: $0["lastError"])
            }
            let enrolment = try SyncEnrolment.fetchOne(db)
            return SyncStatus(
                server: enrolment?.serverURL, gatewayName: enrolment?.gatewayName, collected: collected,
                pending: counts[UploadState.pending.rawValue] ?? 0, uploading: counts[UploadState.batched.rawValue] ?? 0,
                uploaded: counts[UploadState.uploaded.rawValue] ?? 0, receipted: receipted,
                refused: counts[UploadState.refused.rawValue] ?? 0,
                retainedOnline: collected == 0 ? 1 : Double(receipted) / Double(collected),
                lastReceiptAt: try Date.fetchOne(db, sql: "SELECT MAX(committedAt) FROM syncBatch"), waiting: waiting)
        }
    }

    private func recordingsWaiting(_ db: Database, batchId: Int64, sha256: String, states: [String]) throws -> [Recording] {
        try Recording.fetchAll(db, sql: """
            SELECT recording.* FROM syncBatchItem JOIN recording ON recording.id = syncBatchItem.recordingId
            JOIN uploadQueue ON uploadQueue.recordingId = recording.id
            WHERE syncBatchItem.batchId = ? AND syncBatchItem.sha256 = ? AND uploadQueue.state IN (\(states.map { "'\($0)'" }.joined(separator: ", ")))
            """, arguments: [batchId, sha256])
    }
}

extension EvidenceStore {
    /// Items and bytes not yet receipted (refused ones excepted): what a sync has ahead of it.
    public func syncBacklog() throws -> (items: Int, bytes: Int64) {
        try database.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(recording.size), 0) AS bytes FROM uploadQueue
                JOIN recording ON recording.id = uploadQueue.recordingId WHERE uploadQueue.state IN ('pending', 'batched', 'uploaded')
                """)!
            return (row["n"], row["bytes"])
        }
    }

    /// Puts refused items back in the queue (after their stored copy was restored).
    public func requeueRefused(at date: Date = Date()) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE uploadQueue SET state = 'pending', batchId = NULL, updatedAt = ? WHERE state = 'refused'",
                           arguments: [date])
        }
    }
}

extension EvidenceStore {
    /// Every receipt kept, oldest first.
    public func receipts() throws -> [SyncBatch] {
        try database.read { db in
            try SyncBatch.filter(Column("state") == "committed").order(Column("id")).fetchAll(db)
        }
    }
}
