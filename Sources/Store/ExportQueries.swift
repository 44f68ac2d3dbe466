import Common
import Evidence
import Foundation
import GRDB

/// A batch an exported item was part of, with what was signed for it.
public struct ExportedBatch: Sendable {
    public var batch: SyncBatch
    /// The items of the selection in it (syncItem ids).
    public var itemIds: Set<Int64>
}

extension EvidenceStore {
    /// The selected items with their records and custody, oldest first. Items named but not
    /// held are listed in `unknown`.
    public func entries(selectedBy selection: ExportSelection) throws -> (entries: [SyncEntry], unknown: [String]) {
        try database.read { db in
            var request = SyncItem.all()
            var unknown: [String] = []
            switch selection.scope {
            case .caseNumber(let number):
                let printouts = PrintedDocument.filter(Column("caseNumber") == number).select(Column("id"))
                let captures = FingerprintCapture.filter(Column("caseNumber") == number).select(Column("id"))
                let recordings = Recording.filter(Column("caseNumber") == number).select(Column("id"))
                request = request.filter((SyncItem.Columns.kind == EvidenceKind.printout && printouts.contains(SyncItem.Columns.sourceId))
                    || (SyncItem.Columns.kind == EvidenceKind.fingerprint && captures.contains(SyncItem.Columns.sourceId))
                    || (SyncItem.Columns.kind == EvidenceKind.recording && recordings.contains(SyncItem.Columns.sourceId)))
            case .officer(let number):
                request = request.filter(SyncItem.Columns.kind == EvidenceKind.recording
                    && Recording.filter(Column("officerNumber") == number).select(Column("id")).contains(SyncItem.Columns.sourceId))
            case .camera(let serial):
                request = request.filter(SyncItem.Columns.kind == EvidenceKind.recording
                    && Recording.filter(Column("cameraSerial") == serial).select(Column("id")).contains(SyncItem.Columns.sourceId))
            case .items(let names):
                let ids = names.compactMap(Int64.init), hashes = names.filter { Int64($0) == nil }
                request = request.filter((SyncItem.Columns.kind == EvidenceKind.recording && ids.contains(SyncItem.Columns.sourceId))
                    || hashes.contains(SyncItem.Columns.sha256))
                let found = try request.fetchAll(db)
                unknown = names.filter { name in
                    !found.contains { Int64(name) == $0.sourceId && $0.kind == .recording || $0.sha256 == name }
                }
            }
            if let since = selection.since { request = request.filter(SyncItem.Columns.takenAt >= since) }
            if let until = selection.until { request = request.filter(SyncItem.Columns.takenAt < until) }
            let items = try request.order(SyncItem.Columns.takenAt, SyncItem.Columns.id).fetchAll(db)
            return (try items.compactMap { try entry(db, for: $0) }, unknown)
        }
    }

    /// Every batch holding one of these items, oldest first, with the ones it holds.
    public func batches(holding itemIds: [Int64]) throws -> [ExportedBatch] {
        try database.read { db in
            let memberships = try SyncBatchItem.filter(itemIds.contains(SyncBatchItem.Columns.itemId)).fetchAll(db)
            let grouped = Dictionary(grouping: memberships, by: \.batchId)
            return try SyncBatch.filter(keys: grouped.keys).order(SyncBatch.Columns.id).fetchAll(db).compactMap { batch in
                guard let id = batch.id else { return nil }
                return ExportedBatch(batch: batch, itemIds: Set(grouped[id, default: []].map(\.itemId)))
            }
        }
    }

    /// Records a finished export: an `exported` custody event for each item, in one transaction.
    public func recordExport(bundleId: String, selection: ExportSelection, destination: String, items: [SyncItem],
                             tagManifestSha256: String, at date: Date = Date()) throws {
        try database.write { db in
            var chain = try CustodyChain.Appender(db)
            let details = ["bundle": bundleId, "selection": selection.summary, "tagManifestSha256": tagManifestSha256]
            for item in items {
                try appendSyncEvent(&chain, db, .exported, for: item, at: date, details: details)
            }
            try db.execute(sql: """
                INSERT INTO bundleExport (id, exportedAt, selection, destination, items, bytes, tagManifestSha256)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [bundleId, date, selection.summary, Data(destination.utf8), items.count,
                                 items.reduce(0) { $0 + $1.size }, tagManifestSha256])
        }
    }
}
