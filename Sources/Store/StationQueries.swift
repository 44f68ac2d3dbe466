import Foundation
import GRDB

extension EvidenceStore {
    /// Items taken before `cutoff` and still not receipted: evidence at risk of missing the
    /// rule that footage is online within a day of the end of duty.
    public func waitingItems(takenBefore cutoff: Date) throws -> Int {
        try database.read { db in
            try SyncItem.filter(UploadState.waiting.contains(Column("state")) && Column("takenAt") < cutoff).fetchCount(db)
        }
    }

    /// Recordings of a camera collected and not yet deleted from it, and how many of those are receipted.
    public func onCamera(serial: String) throws -> (kept: Int, receipted: Int) {
        try database.read { db in
            let kept = try Recording.filter(Column("cameraSerial") == serial && Column("wipedAt") == nil).fetchCount(db)
            let receipted = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM recording JOIN syncItem ON syncItem.kind = ? AND syncItem.sourceId = recording.id
                WHERE recording.cameraSerial = ? AND recording.wipedAt IS NULL AND syncItem.state = ?
                """, arguments: [EvidenceKind.recording.rawValue, serial, UploadState.receipted]) ?? 0
            return (kept, receipted)
        }
    }
}
