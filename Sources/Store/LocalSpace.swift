import Evidence
import Foundation
import GRDB

/// Room on the gateway's own disk: a station collects tens of GB per camera per shift, so
/// the local copies of receipted recordings go, oldest first, when space runs short. Never a
/// recording without a receipt, never an important one before it has been kept for the
/// configured days; the row, the custody chain and the receipt stay, and each removal is a
/// custody event (`local-copy-removed`).
public struct LocalCopyRemoval: Sendable, Equatable {
    public var recordingId: Int64
    public var sha256: String
    public var source: String
    /// Bytes given back (0 when another row still needs the same blob).
    public var bytesFreed: Int64
}

extension EvidenceStore {
    /// Receipted recordings still held here whose copies may go, oldest collected first.
    public func removableCopies(keepImportantFor importantDays: Int, now: Date = Date()) throws -> [Recording] {
        let importantSince = now.addingTimeInterval(-Double(importantDays) * 86_400)
        return try database.read { db in
            try Recording.fetchAll(db, sql: """
                SELECT recording.* FROM recording
                JOIN syncItem ON syncItem.kind = ? AND syncItem.sourceId = recording.id AND syncItem.state = ?
                WHERE recording.localCopyRemovedAt IS NULL AND (recording.important = 0 OR recording.collectedAt < ?)
                ORDER BY recording.collectedAt, recording.id
                """, arguments: [EvidenceKind.recording.rawValue, UploadState.receipted, importantSince])
        }
    }

    /// Removes the local copies of removable recordings, oldest first, until `bytes` are freed
    /// (or none is left). The row is marked and the custody event written before the blob is
    /// deleted, so a crash in between leaves a copy too many, never a row that lies.
    public func removeLocalCopies(toFree bytes: Int64, keepImportantFor importantDays: Int, reason: String,
                                  now: Date = Date()) throws -> [LocalCopyRemoval] {
        var removed: [LocalCopyRemoval] = []
        var freed: Int64 = 0
        for recording in try removableCopies(keepImportantFor: importantDays, now: now) where freed < bytes {
            guard let id = recording.id else { continue }
            let stillNeeded = try database.write { db -> Bool in
                // Re-checked in the transaction: still receipted, still held.
                let receipted = try SyncItem.filter(Column("kind") == EvidenceKind.recording.rawValue && Column("sourceId") == id
                                                    && Column("state") == UploadState.receipted).fetchCount(db) > 0
                guard receipted, try Recording.filter(key: id).filter(Column("localCopyRemovedAt") == nil).fetchCount(db) == 1 else {
                    return true
                }
                try db.execute(sql: "UPDATE recording SET localCopyRemovedAt = ? WHERE id = ?", arguments: [now, id])
                try CustodyChain.append(db, kind: .localCopyRemoved, at: now, camera: recording.cameraSerial, recordingId: id,
                                        sha256: recording.sha256,
                                        details: ["reason": reason, "heldBy": "the server, per its receipt", "size": String(recording.size)])
                // Another recording (or a printout) with the same bytes keeps the blob.
                let others = try Int.fetchOne(db, sql: """
                    SELECT (SELECT COUNT(*) FROM recording WHERE sha256 = ? AND localCopyRemovedAt IS NULL)
                         + (SELECT COUNT(*) FROM printedDocument WHERE sha256 = ?)
                         + (SELECT COUNT(*) FROM fingerprintCapture WHERE sha256 = ?)
                    """, arguments: [recording.sha256, recording.sha256, recording.sha256]) ?? 0
                return others > 0
            }
            var bytesFreed: Int64 = 0
            if !stillNeeded {
                let path = blobs.path(of: recording.sha256).path
                if unlink(path) == 0 { bytesFreed = recording.size }
            }
            freed += bytesFreed
            removed.append(LocalCopyRemoval(recordingId: id, sha256: recording.sha256, source: recording.sourceName, bytesFreed: bytesFreed))
        }
        return removed
    }
}
