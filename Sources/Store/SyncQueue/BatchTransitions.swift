import Common
import Crypto
import Evidence
import Foundation
import GRDB

/// A batch's way through the server: prepared → open → committed with a receipt, and what
/// happens to its items on the way (receipted, or back to waiting).
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
            try SyncBatch.filter(SyncBatch.Columns.state != BatchState.committed).order(SyncBatch.Columns.id).fetchAll(db)
        }
    }

    public func batch(id: Int64) throws -> SyncBatch? {
        try database.read { db in try SyncBatch.fetchOne(db, key: id) }
    }

    /// Every receipt kept, oldest first.
    public func receipts() throws -> [SyncBatch] {
        try database.read { db in
            try SyncBatch.filter(SyncBatch.Columns.state == BatchState.committed).order(SyncBatch.Columns.id).fetchAll(db)
        }
    }

    /// The server answered the manifest: the batch is open there, under the server's id.
    public func markOpened(batchId: Int64, serverBatchId: String) throws {
        _ = try database.write { db in
            try SyncBatch.filter(key: batchId).filter(SyncBatch.Columns.state == BatchState.prepared)
                .updateAll(db, SyncBatch.Columns.serverBatchId.set(to: serverBatchId), SyncBatch.Columns.state.set(to: BatchState.open))
        }
    }

    /// Keeps the batch's signed manifest unless one is kept already, and answers the one kept:
    /// the first signed is the one sent every time. A batch sent before manifests were kept (a
    /// store from before v6) keeps none: the server may hold other bytes for it, so nil.
    public func keepManifest(batchId: Int64, payload: Data, signature: String) throws -> (payload: Data, signature: String)? {
        try database.write { db in
            try SyncBatch.filter(key: batchId).filter(SyncBatch.Columns.manifestPayload == nil)
                .filter(SyncBatch.Columns.state == BatchState.prepared).updateAll(
                    db, SyncBatch.Columns.manifestPayload.set(to: payload), SyncBatch.Columns.manifestSignature.set(to: signature))
            guard let batch = try SyncBatch.fetchOne(db, key: batchId) else {
                throw StoreError.database("batch \(batchId) is not in the store")
            }
            guard let kept = batch.manifestPayload, let keptSignature = batch.manifestSignature else { return nil }
            return (kept, keptSignature)
        }
    }

    /// Stores a verified receipt and marks its items retained online, each with a `receipted` event.
    /// Items of the batch the receipt does not name go back to waiting.
    public func markReceipted(batchId: Int64, serverBatchId: String, payload: Data, signature: String, serverTime: String,
                              receiptedHashes: Set<String>, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            let receiptHash = SHA256.hash(data: payload).hexString
            for item in try SyncItem.inBatch(batchId).fetchAll(db) where item.state != .receipted {
                if receiptedHashes.contains(item.sha256) {
                    try setState(db, item, to: .receipted, at: date)
                    try appendSyncEvent(&chain, db, .receipted, for: item, at: date,
                                        details: ["batch": serverBatchId, "serverTime": serverTime, "receiptSha256": receiptHash])
                } else if item.state != .refused {
                    try requeue(SyncItem.filter(key: item.id), db, at: date)
                }
            }
            try SyncBatch.filter(key: batchId).updateAll(
                db, SyncBatch.Columns.state.set(to: BatchState.committed), SyncBatch.Columns.committedAt.set(to: StoredDate.databaseValue(date)),
                SyncBatch.Columns.receiptPayload.set(to: payload), SyncBatch.Columns.receiptSignature.set(to: signature),
                SyncBatch.Columns.serverTime.set(to: serverTime))
        }
    }

    /// Receipted batches whose receipt has no time-stamp yet, oldest first.
    public func batchesAwaitingTimestamp(limit: Int) throws -> [SyncBatch] {
        try database.read { db in
            try SyncBatch.filter(SyncBatch.Columns.state == BatchState.committed && SyncBatch.Columns.serverBatchId != nil
                                 && SyncBatch.Columns.receiptPayload != nil && SyncBatch.Columns.timestampReply == nil)
                .order(SyncBatch.Columns.id).limit(limit).fetchAll(db)
        }
    }

    /// Keeps the time-stamp over a batch's receipt (checked by the caller against the receipt);
    /// one kept already stays.
    public func keepTimestamp(batchId: Int64, reply: Data, stampedAt: String, authorityCertificates: String) throws {
        _ = try database.write { db in
            try SyncBatch.filter(key: batchId).filter(SyncBatch.Columns.timestampReply == nil).updateAll(
                db, SyncBatch.Columns.timestampReply.set(to: reply), SyncBatch.Columns.timestampedAt.set(to: stampedAt),
                SyncBatch.Columns.timestampAuthority.set(to: authorityCertificates))
        }
    }

    /// Notes why the items of a batch (or every waiting one) did not go up this time.
    public func noteWaiting(batchId: Int64?, reason: String, at date: Date = Date()) throws {
        try database.write { db in
            let waiting = batchId.map {
                SyncItem.filter(SyncItem.Columns.batchId == $0 && [UploadState.batched, .uploaded].contains(SyncItem.Columns.state))
            } ?? SyncItem.waiting
            try waiting.updateAll(db, SyncItem.Columns.lastError.set(to: reason), SyncItem.Columns.attempts += 1,
                                  SyncItem.Columns.updatedAt.set(to: StoredDate.databaseValue(date)))
        }
    }

    /// Puts refused items back in the queue (after their stored copy was restored).
    public func requeueRefused(at date: Date = Date()) throws {
        try database.write { db in
            try requeue(SyncItem.filter(SyncItem.Columns.state == UploadState.refused), db, at: date)
        }
    }

    /// Back to pending, out of any batch.
    private func requeue(_ items: QueryInterfaceRequest<SyncItem>, _ db: Database, at date: Date) throws {
        try items.updateAll(db, SyncItem.Columns.state.set(to: UploadState.pending), SyncItem.Columns.batchId.set(to: nil),
                            SyncItem.Columns.updatedAt.set(to: StoredDate.databaseValue(date)))
    }

    /// Moves an item to `state`, its last error cleared.
    func setState(_ db: Database, _ item: SyncItem, to state: UploadState, at date: Date) throws {
        try SyncItem.filter(key: item.id).updateAll(db, SyncItem.Columns.state.set(to: state), SyncItem.Columns.lastError.set(to: nil),
                                                    SyncItem.Columns.updatedAt.set(to: StoredDate.databaseValue(date)))
    }

    /// A sync event in an item's custody: a recording's names its camera and row; paperwork's name
    /// its blob and what it is.
    func appendSyncEvent(_ chain: inout CustodyChain.Appender, _ db: Database, _ kind: CustodyKind, for item: SyncItem, at date: Date,
                         details: [String: String]) throws {
        if item.kind == .recording {
            let camera = try String.fetchOne(db, Recording.filter(key: item.sourceId).select(Column("cameraSerial"), as: String.self))
            try chain.append(kind: kind, at: date, camera: camera, recordingId: item.sourceId, sha256: item.sha256, details: details)
        } else {
            var details = details
            details["item"] = "\(item.kind.rawValue) \(item.sourceId)"
            try chain.append(kind: kind, at: date, sha256: item.sha256, details: details)
        }
    }
}
