import Common
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
    public var state: BatchState
    public var createdAt: Date
    public var committedAt: Date?
    /// The receipt exactly as signed, and its signature, so it can be verified again later.
    public var receiptPayload: Data?
    public var receiptSignature: String?
    public var serverTime: String?

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// Where a batch is: kept before its manifest is sent, open on the server, committed with a receipt.
public enum BatchState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case prepared, open, committed
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

/// Where an item of evidence is on its way to the server.
public enum UploadState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    /// Stored, not yet in a batch.
    case pending
    /// In a batch the server has not receipted yet.
    case batched
    /// The server holds the blob; the receipt is still to come.
    case uploaded
    /// Retained online: the server signed a receipt for it.
    case receipted
    /// The server refused the bytes (they no longer match the hash): needs a person.
    case refused

    /// Still on its way: what a sync has ahead of it (refused items wait for a person).
    static let waiting: [UploadState] = [.pending, .batched, .uploaded]
}

/// What an item of evidence is.
public enum EvidenceKind: String, Codable, Sendable, CaseIterable {
    case recording, printout, fingerprint
}

/// One item of evidence in the sync queue, whatever made it (a trigger queues every recording,
/// printout and fingerprint as it is stored).
public struct SyncItem: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "syncItem"
    public var id: Int64
    public var kind: EvidenceKind
    /// The row of `recording`, `printedDocument` or `fingerprintCapture`.
    public var sourceId: Int64
    public var sha256: String
    public var size: Int64
    public var important: Bool
    public var takenAt: Date?
    public var state: UploadState
    public var batchId: Int64?
    public var attempts: Int
    public var lastError: String?
    public var updatedAt: Date
}

/// An item of a batch with the record it stands for and its custody so far.
public struct SyncEntry: Sendable {
    public enum Source: Sendable {
        case recording(Recording)
        case printout(PrintedDocument)
        case fingerprint(FingerprintCapture)
    }

    public var item: SyncItem
    public var source: Source
    public var custody: [CustodyEvent]
}

/// What `status` says about sync: the share retained online (网上留存率) and what waits, and why.
public struct SyncStatus: Sendable, Codable, Equatable {
    public struct Waiting: Sendable, Codable, Equatable {
        public var kind: String
        public var camera: String?
        /// The recording's path on its camera, or the printout's or fingerprint's document.
        public var source: String
        public var sha256: String
        public var state: String
        public var reason: String
    }

    public var server: String?
    public var gatewayName: String?
    /// Items of evidence stored: recordings, printouts and fingerprints.
    public var collected: Int
    public var pending: Int
    public var uploading: Int
    public var uploaded: Int
    public var receipted: Int
    public var refused: Int
    /// receipted / collected, 0…1 (1 when nothing was collected).
    public var retainedOnline: Double
    /// Items and receipted items by kind ("recording", "printout", "fingerprint").
    public var collectedByKind: [String: Int]
    public var receiptedByKind: [String: Int]
    public var lastReceiptAt: Date?
    /// Items that wait with a reason (refused, or a failed attempt), refused first.
    public var waiting: [Waiting]
}

/// How a person recognises an item: the recording's path, or the printout's or fingerprint's document.
private let itemLabelSQL = """
    CASE syncItem.kind
        WHEN 'recording' THEN recording.sourceName
        WHEN 'printout' THEN 'printout ' || printedDocument.documentNumber || ' (' || printedDocument.template || ')'
        ELSE 'fingerprint of ' || fingerprintCapture.person || ' on ' || fingerprintCapture.documentNumber
    END
    """
private let itemSourcesSQL = """
    LEFT JOIN recording ON syncItem.kind = 'recording' AND recording.id = syncItem.sourceId
    LEFT JOIN printedDocument ON syncItem.kind = 'printout' AND printedDocument.id = syncItem.sourceId
    LEFT JOIN fingerprintCapture ON syncItem.kind = 'fingerprint' AND fingerprintCapture.id = syncItem.sourceId
    """

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
            try SyncBatch.filter(Column("state") != BatchState.committed).order(Column("id")).fetchAll(db)
        }
    }

    /// The items of a batch, in the order they were batched, with their records and custody.
    public func entries(inBatch batchId: Int64) throws -> [SyncEntry] {
        try database.read { db in
            let items = try SyncItem.fetchAll(db, sql: """
                SELECT syncItem.* FROM syncBatchItem JOIN syncItem ON syncItem.id = syncBatchItem.itemId
                WHERE syncBatchItem.batchId = ? ORDER BY syncBatchItem.rowid
                """, arguments: [batchId])
            return try items.compactMap { item -> SyncEntry? in
                switch item.kind {
                case .recording:
                    guard let recording = try Recording.fetchOne(db, key: item.sourceId) else { return nil }
                    return SyncEntry(item: item, source: .recording(recording),
                                     custody: try CustodyEvent.filter(Column("recordingId") == item.sourceId).order(Column("seq")).fetchAll(db))
                case .printout, .fingerprint:
                    let source: SyncEntry.Source
                    if item.kind == .printout {
                        guard let document = try PrintedDocument.fetchOne(db, key: item.sourceId) else { return nil }
                        source = .printout(document)
                    } else {
                        guard let capture = try FingerprintCapture.fetchOne(db, key: item.sourceId) else { return nil }
                        source = .fingerprint(capture)
                    }
                    // Paperwork's events name its blob, not a recording.
                    let custody = try CustodyEvent.filter(Column("recordingId") == nil && Column("sha256") == item.sha256)
                        .order(Column("seq")).fetchAll(db)
                    return SyncEntry(item: item, source: source, custody: custody)
                }
            }
        }
    }

    /// Starts a batch of up to `limit` waiting items: important ones first, then oldest.
    /// Returns nil when nothing waits.
    public func prepareBatch(limit: Int, at date: Date = Date()) throws -> SyncBatch? {
        try database.write { db in
            let ids = try Int64.fetchAll(db, SyncItem.select(Column("id")).filter(Column("state") == UploadState.pending)
                .order(Column("important").desc, Column("takenAt"), Column("id")).limit(limit))
            guard !ids.isEmpty else { return nil }
            var batch = SyncBatch(batchKey: UUID().uuidString.lowercased(), state: .prepared, createdAt: date)
            try batch.insert(db)
            for id in ids {
                try db.execute(sql: "INSERT INTO syncBatchItem (batchId, itemId, sha256) SELECT ?, id, sha256 FROM syncItem WHERE id = ?",
                               arguments: [batch.id, id])
                try SyncItem.filter(key: id).updateAll(db, Column("state").set(to: UploadState.batched), Column("batchId").set(to: batch.id),
                                                       Column("lastError").set(to: nil), Column("updatedAt").set(to: date))
            }
            return batch
        }
    }

    /// The blobs of a batch whose items are in `state` (e.g. refused: withdrawn at commit).
    public func hashes(inBatch batchId: Int64, state: UploadState) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: """
                SELECT DISTINCT syncItem.sha256 FROM syncBatchItem JOIN syncItem ON syncItem.id = syncBatchItem.itemId
                WHERE syncBatchItem.batchId = ? AND syncItem.state = ? ORDER BY syncItem.sha256
                """, arguments: [batchId, state])
        }
    }

    public func markOpened(batchId: Int64, serverBatchId: String) throws {
        try database.write { db in
            try SyncBatch.filter(key: batchId).filter(Column("state") == BatchState.prepared)
                .updateAll(db, Column("serverBatchId").set(to: serverBatchId), Column("state").set(to: BatchState.open))
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

    /// The server holds the blob (sent now, or already held): each of the batch's items with
    /// this hash gets an `uploaded` event, once.
    public func markUploaded(batchId: Int64, sha256: String, server: String, serverBatchId: String, sentBytes: Int64,
                             alreadyHeld: Bool, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            for item in try items(db, batchId: batchId, sha256: sha256, state: .batched) {
                try set(db, item, to: .uploaded, at: date)
                try append(&chain, db, .uploaded, for: item, at: date,
                           details: ["server": server, "batch": serverBatchId, "sentBytes": String(sentBytes),
                                     "alreadyHeld": alreadyHeld ? "true" : "false"])
            }
            _ = try SyncUpload.deleteOne(db, key: sha256)
        }
    }

    /// The server refused the blob's bytes: the items wait, named with the reason, and the
    /// refusal is a custody event.
    public func markRefused(batchId: Int64, sha256: String, reason: String, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            for item in try items(db, batchId: batchId, sha256: sha256, state: .batched) {
                try SyncItem.filter(key: item.id).updateAll(db, Column("state").set(to: UploadState.refused), Column("lastError").set(to: reason),
                                                            Column("attempts") += 1, Column("updatedAt").set(to: date))
                try append(&chain, db, .uploadRefused, for: item, at: date, details: ["reason": reason])
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
            let items = try SyncItem.fetchAll(db, sql: """
                SELECT syncItem.* FROM syncBatchItem JOIN syncItem ON syncItem.id = syncBatchItem.itemId
                WHERE syncBatchItem.batchId = ? ORDER BY syncBatchItem.rowid
                """, arguments: [batchId])
            for item in items where item.state != .receipted {
                if receiptedHashes.contains(item.sha256) {
                    try set(db, item, to: .receipted, at: date)
                    try append(&chain, db, .receipted, for: item, at: date,
                               details: ["batch": serverBatchId, "serverTime": serverTime, "receiptSha256": receiptHash])
                } else if item.state != .refused {
                    try SyncItem.filter(key: item.id).updateAll(db, Column("state").set(to: UploadState.pending),
                                                                Column("batchId").set(to: nil), Column("updatedAt").set(to: date))
                }
            }
            try SyncBatch.filter(key: batchId).updateAll(db, Column("state").set(to: BatchState.committed), Column("committedAt").set(to: date),
                                                         Column("receiptPayload").set(to: payload), Column("receiptSignature").set(to: signature),
                                                         Column("serverTime").set(to: serverTime))
        }
    }

    /// Notes why the items of a batch (or every waiting one) did not go up this time.
    public func noteWaiting(batchId: Int64?, reason: String, at date: Date = Date()) throws {
        try database.write { db in
            let waiting = batchId.map { SyncItem.filter(Column("batchId") == $0 && [UploadState.batched, .uploaded].contains(Column("state"))) }
                ?? SyncItem.filter(UploadState.waiting.contains(Column("state")))
            try waiting.updateAll(db, Column("lastError").set(to: reason), Column("attempts") += 1, Column("updatedAt").set(to: date))
        }
    }

    /// Recordings the server has receipted, of one camera: the `after-receipt` policy may free them.
    public func receiptedRecordingIds(camera: String) throws -> Set<Int64> {
        try database.read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT recording.id FROM recording JOIN syncItem ON syncItem.kind = ? AND syncItem.sourceId = recording.id
                WHERE recording.cameraSerial = ? AND syncItem.state = ?
                """, arguments: [EvidenceKind.recording.rawValue, camera, UploadState.receipted]))
        }
    }

    public func syncStatus(waitingLimit: Int = 100) throws -> SyncStatus {
        try database.read { db in
            var counts: [String: Int] = [:]
            var collectedByKind: [String: Int] = [:], receiptedByKind: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, state, COUNT(*) AS n FROM syncItem GROUP BY kind, state") {
                let kind: String = row["kind"], state: String = row["state"], n: Int = row["n"]
                counts[state, default: 0] += n
                collectedByKind[kind, default: 0] += n
                if state == UploadState.receipted.rawValue { receiptedByKind[kind, default: 0] += n }
            }
            let collected = counts.values.reduce(0, +)
            let receipted = counts[UploadState.receipted.rawValue] ?? 0
            let waiting = try Row.fetchAll(db, sql: """
                SELECT syncItem.kind, syncItem.sha256, syncItem.state, syncItem.lastError, recording.cameraSerial,
                       \(itemLabelSQL) AS label
                FROM syncItem \(itemSourcesSQL)
                WHERE syncItem.state != ? AND syncItem.lastError IS NOT NULL
                ORDER BY syncItem.state = ? DESC, syncItem.id LIMIT ?
                """, arguments: [UploadState.receipted, UploadState.refused, waitingLimit]).map {
                SyncStatus.Waiting(kind: $0["kind"], camera: $0["cameraSerial"], source: $0["label"] ?? "?", sha256: $0["sha256"],
                                   state: $0["state"], reason: $0["lastError"])
            }
            let enrolment = try SyncEnrolment.fetchOne(db)
            return SyncStatus(
                server: enrolment?.serverURL, gatewayName: enrolment?.gatewayName, collected: collected,
                pending: counts[UploadState.pending.rawValue] ?? 0, uploading: counts[UploadState.batched.rawValue] ?? 0,
                uploaded: counts[UploadState.uploaded.rawValue] ?? 0, receipted: receipted,
                refused: counts[UploadState.refused.rawValue] ?? 0,
                retainedOnline: collected == 0 ? 1 : Double(receipted) / Double(collected),
                collectedByKind: collectedByKind, receiptedByKind: receiptedByKind,
                lastReceiptAt: try Date.fetchOne(db, sql: "SELECT MAX(committedAt) FROM syncBatch"), waiting: waiting)
        }
    }

    /// Items and bytes not yet receipted (refused ones excepted): what a sync has ahead of it.
    public func syncBacklog() throws -> (items: Int, bytes: Int64) {
        try database.read { db in
            let waiting = SyncItem.filter(UploadState.waiting.contains(Column("state")))
            return (try waiting.fetchCount(db), try Int64.fetchOne(db, waiting.select(sum(Column("size")))) ?? 0)
        }
    }

    /// Puts refused items back in the queue (after their stored copy was restored).
    public func requeueRefused(at date: Date = Date()) throws {
        try database.write { db in
            try SyncItem.filter(Column("state") == UploadState.refused)
                .updateAll(db, Column("state").set(to: UploadState.pending), Column("batchId").set(to: nil), Column("updatedAt").set(to: date))
        }
    }

    /// Every receipt kept, oldest first.
    public func receipts() throws -> [SyncBatch] {
        try database.read { db in
            try SyncBatch.filter(Column("state") == "committed").order(Column("id")).fetchAll(db)
        }
    }

    private func items(_ db: Database, batchId: Int64, sha256: String, state: UploadState) throws -> [SyncItem] {
        try SyncItem.fetchAll(db, sql: """
            SELECT syncItem.* FROM syncBatchItem JOIN syncItem ON syncItem.id = syncBatchItem.itemId
            WHERE syncBatchItem.batchId = ? AND syncBatchItem.sha256 = ? AND syncItem.state = ?
            """, arguments: [batchId, sha256, state])
    }

    /// Moves an item to `state`, its last error cleared.
    private func set(_ db: Database, _ item: SyncItem, to state: UploadState, at date: Date) throws {
        try SyncItem.filter(key: item.id).updateAll(db, Column("state").set(to: state), Column("lastError").set(to: nil),
                                                    Column("updatedAt").set(to: date))
    }

    /// A sync event in an item's custody: a recording's names its camera and row; paperwork's name
    /// its blob and what it is.
    private func append(_ chain: inout CustodyChain.Appender, _ db: Database, _ kind: CustodyKind, for item: SyncItem, at date: Date,
                        details: [String: String]) throws {
        if item.kind == .recording {
            let camera = try String.fetchOne(db, sql: "SELECT cameraSerial FROM recording WHERE id = ?", arguments: [item.sourceId])
            try chain.append(kind: kind, at: date, camera: camera, recordingId: item.sourceId, sha256: item.sha256, details: details)
        } else {
            var details = details
            details["item"] = "\(item.kind.rawValue) \(item.sourceId)"
            try chain.append(kind: kind, at: date, sha256: item.sha256, details: details)
        }
    }
}
