import Evidence
import Foundation
import GRDB

/// What the sync queue offers: which items go into the next batch, what a batch holds, what
/// waits.
extension EvidenceStore {
    /// Starts a batch of up to `limit` pending items: important ones first, then oldest.
    /// Returns nil when nothing waits.
    public func prepareBatch(limit: Int, at date: Date = Date()) throws -> SyncBatch? {
        try database.write { db in
            let chosen = try SyncItem.filter(SyncItem.Columns.state == UploadState.pending)
                .order(SyncItem.Columns.important.desc, SyncItem.Columns.takenAt, SyncItem.Columns.id).limit(limit).fetchAll(db)
            guard !chosen.isEmpty else { return nil }
            var batch = SyncBatch(batchKey: UUID().uuidString.lowercased(), state: .prepared, createdAt: date)
            try batch.insert(db)
            guard let batchId = batch.id else { return nil }
            for item in chosen {
                try SyncBatchItem(batchId: batchId, itemId: item.id, sha256: item.sha256).insert(db)
                try SyncItem.filter(key: item.id).updateAll(db, SyncItem.Columns.state.set(to: UploadState.batched),
                                                            SyncItem.Columns.batchId.set(to: batchId),
                                                            SyncItem.Columns.lastError.set(to: nil), SyncItem.Columns.updatedAt.set(to: StoredDate.databaseValue(date)))
            }
            return batch
        }
    }

    /// The items of a batch, in the order they were batched, with their records and custody.
    public func entries(inBatch batchId: Int64) throws -> [SyncEntry] {
        try database.read { db in
            try SyncItem.inBatch(batchId).fetchAll(db).compactMap { item in try entry(db, for: item) }
        }
    }

    /// An item with the record it stands for and its custody; nil when the record is gone.
    func entry(_ db: Database, for item: SyncItem) throws -> SyncEntry? {
        let source: SyncEntry.Source
        switch item.kind {
        case .recording:
            guard let recording = try Recording.fetchOne(db, key: item.sourceId) else { return nil }
            let custody = try CustodyEvent.filter(Column("recordingId") == item.sourceId).order(Column("seq")).fetchAll(db)
            let unit = try recording.officerNumber.flatMap { try Officer.fetchOne(db, key: $0)?.unit }
            return SyncEntry(item: item, source: .recording(recording), custody: custody, officerUnit: unit)
        case .printout:
            guard let document = try PrintedDocument.fetchOne(db, key: item.sourceId) else { return nil }
            source = .printout(document)
        case .fingerprint:
            guard let capture = try FingerprintCapture.fetchOne(db, key: item.sourceId) else { return nil }
            source = .fingerprint(capture)
        }
        // Paperwork's events name its blob, not a recording.
        let custody = try CustodyEvent.filter(Column("recordingId") == nil && Column("sha256") == item.sha256)
            .order(Column("seq")).fetchAll(db)
        return SyncEntry(item: item, source: source, custody: custody)
    }

    /// The blobs of a batch whose items are in `state` (e.g. refused: withdrawn at commit).
    public func hashes(inBatch batchId: Int64, state: UploadState) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, SyncItem.inBatch(batchId).filter(SyncItem.Columns.state == state).order(SyncItem.Columns.sha256)
                .select(SyncItem.Columns.sha256, as: String.self).distinct())
        }
    }

    /// Items and bytes not yet receipted (refused ones excepted): what a sync has ahead of it.
    public func syncBacklog() throws -> (items: Int, bytes: Int64) {
        try database.read { db in
            (try SyncItem.waiting.fetchCount(db), try Int64.fetchOne(db, SyncItem.waiting.select(sum(SyncItem.Columns.size))) ?? 0)
        }
    }

    /// Items not receipted (refused ones included) outside `batchId`: what the gateway still
    /// holds that the server lacks, as sent with a manifest.
    public func unreceipted(excludingBatch batchId: Int64?, calendar: Calendar = .current) throws -> UnreceiptedItems {
        try database.read { db in
            var request = SyncItem.filter(SyncItem.Columns.state != UploadState.receipted)
            if let batchId { request = request.filter(SyncItem.Columns.batchId == nil || SyncItem.Columns.batchId != batchId) }
            var tally = UnreceiptedItems()
            let rows = try Row.fetchCursor(db, request.select(SyncItem.Columns.size, SyncItem.Columns.takenAt, SyncItem.Columns.updatedAt))
            while let row = try rows.next() {
                guard let recorded = StoredDate.date(row["takenAt"]) ?? StoredDate.date(row["updatedAt"]) else { continue }
                tally.items += 1
                tally.bytes += row["size"]
                tally.oldestRecordedAt = min(tally.oldestRecordedAt ?? recorded, recorded)
                let month = calendar.dateComponents([.year, .month], from: recorded)
                tally.byMonth[String(format: "%04d-%02d", month.year ?? 0, month.month ?? 0), default: 0] += 1
            }
            return tally
        }
    }

    /// Recordings the server has receipted, of one camera: the `after-receipt` policy may free them.
    public func receiptedRecordingIds(camera: String) throws -> Set<Int64> {
        try database.read { db in
            let receipted = SyncItem.filter(SyncItem.Columns.kind == EvidenceKind.recording && SyncItem.Columns.state == UploadState.receipted)
                .select(SyncItem.Columns.sourceId)
            return Set(try Int64.fetchAll(db, Recording.filter(Column("cameraSerial") == camera && receipted.contains(Column("id")))
                .select(Column("id"), as: Int64.self)))
        }
    }
}

/// Items the server has not receipted: how many, their bytes, the oldest, and by month recorded.
public struct UnreceiptedItems: Sendable, Equatable {
    public var items = 0
    public var bytes: Int64 = 0
    public var oldestRecordedAt: Date?
    public var byMonth: [String: Int] = [:]

    public init() {}
}
