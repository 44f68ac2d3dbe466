import Foundation
import GRDB

/// What `status` says about sync: the share retained online (网上留存率) and what waits, and why.
public struct SyncStatus: Sendable, Codable, Equatable {
    public struct Waiting: Sendable, Codable, Equatable {
        public var kind: EvidenceKind
        public var camera: String?
        /// The recording's path on its camera, or the printout's or fingerprint's document.
        public var source: String
        public var sha256: String
        public var state: UploadState
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

extension EvidenceStore {
    public func syncStatus(waitingLimit: Int = 100) throws -> SyncStatus {
        try database.read { db in
            var counts: [UploadState: Int] = [:]
            var collectedByKind: [String: Int] = [:], receiptedByKind: [String: Int] = [:]
            let groups = SyncItem.select(SyncItem.Columns.kind, SyncItem.Columns.state, count(Column.rowID).forKey("n"))
                .group(SyncItem.Columns.kind, SyncItem.Columns.state).asRequest(of: Row.self)
            for row in try groups.fetchAll(db) {
                let kind: EvidenceKind = row["kind"], state: UploadState = row["state"], n: Int = row["n"]
                counts[state, default: 0] += n
                collectedByKind[kind.rawValue, default: 0] += n
                if state == .receipted { receiptedByKind[kind.rawValue, default: 0] += n }
            }
            let collected = counts.values.reduce(0, +)
            let receipted = counts[.receipted] ?? 0
            let enrolment = try SyncEnrolment.fetchOne(db)
            return SyncStatus(
                server: enrolment?.serverURL, gatewayName: enrolment?.gatewayName, collected: collected,
                pending: counts[.pending] ?? 0, uploading: counts[.batched] ?? 0, uploaded: counts[.uploaded] ?? 0,
                receipted: receipted, refused: counts[.refused] ?? 0,
                retainedOnline: collected == 0 ? 1 : Double(receipted) / Double(collected),
                collectedByKind: collectedByKind, receiptedByKind: receiptedByKind,
                lastReceiptAt: try DatabaseValue.fetchOne(db, SyncBatch.select(max(SyncBatch.Columns.committedAt))).flatMap(StoredDate.date),
                waiting: try waitingWithReasons(db, limit: waitingLimit))
        }
    }

    /// Items that wait with a reason (refused, or a failed attempt), refused first, each named
    /// as a person recognises it.
    private func waitingWithReasons(_ db: Database, limit: Int) throws -> [SyncStatus.Waiting] {
        let items = try SyncItem.filter(SyncItem.Columns.state != UploadState.receipted && SyncItem.Columns.lastError != nil)
            .order((SyncItem.Columns.state == UploadState.refused).desc, SyncItem.Columns.id).limit(limit).fetchAll(db)
        return try items.map { item in
            let (label, camera) = try self.label(db, of: item)
            return SyncStatus.Waiting(kind: item.kind, camera: camera, source: label ?? "?", sha256: item.sha256, state: item.state,
                                      reason: item.lastError ?? "")
        }
    }

    /// How a person recognises an item: the recording's path (and its camera), or the printout's
    /// or fingerprint's document.
    private func label(_ db: Database, of item: SyncItem) throws -> (label: String?, camera: String?) {
        switch item.kind {
        case .recording:
            let recording = try Recording.fetchOne(db, key: item.sourceId)
            return (recording?.sourceName, recording?.cameraSerial)
        case .printout:
            return (try PrintedDocument.fetchOne(db, key: item.sourceId).map { "printout \($0.documentNumber) (\($0.template))" }, nil)
        case .fingerprint:
            return (try FingerprintCapture.fetchOne(db, key: item.sourceId).map { "fingerprint of \($0.person) on \($0.documentNumber)" }, nil)
        }
    }
}
