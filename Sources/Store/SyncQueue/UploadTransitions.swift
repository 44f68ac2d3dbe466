import Evidence
import Foundation
import GRDB

/// A blob's upload: the tus upload in progress, then the server holding the blob (uploaded) or
/// refusing its bytes (refused).
extension EvidenceStore {
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
            for item in try batchedItems(db, batchId: batchId, sha256: sha256) {
                try setState(db, item, to: .uploaded, at: date)
                try appendSyncEvent(&chain, db, .uploaded, for: item, at: date,
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
            for item in try batchedItems(db, batchId: batchId, sha256: sha256) {
                try SyncItem.filter(key: item.id).updateAll(db, SyncItem.Columns.state.set(to: UploadState.refused),
                                                            SyncItem.Columns.lastError.set(to: reason), SyncItem.Columns.attempts += 1,
                                                            SyncItem.Columns.updatedAt.set(to: StoredDate.databaseValue(date)))
                try appendSyncEvent(&chain, db, .uploadRefused, for: item, at: date, details: ["reason": reason])
            }
            _ = try SyncUpload.deleteOne(db, key: sha256)
        }
    }

    /// The batch's items of one blob that still wait for it.
    private func batchedItems(_ db: Database, batchId: Int64, sha256: String) throws -> [SyncItem] {
        try SyncItem.inBatch(batchId, sha256: sha256).filter(SyncItem.Columns.state == UploadState.batched).fetchAll(db)
    }
}
