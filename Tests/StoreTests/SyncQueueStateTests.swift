import Foundation
import Store
import TestSupport
import XCTest

/// The sync queue's state machine, directly: pending → batched → uploaded | refused →
/// receipted, requeued when a receipt leaves an item out or a refusal is retried, with the
/// custody event each step writes.
final class SyncQueueStateTests: XCTestCase {
    private func storeWithRecordings(_ texts: [String], importantIndex: Int? = nil) throws -> (EvidenceStore, [Recording]) {
        let store = try EvidenceStore(home: try temporaryFolder(self).appendingPathComponent("home"))
        var rows: [Recording] = []
        for (index, text) in texts.enumerated() {
            let staged = try store.blobs.stage(bytes: Array(text.utf8))
            try store.blobs.syncFolders([try store.blobs.place(staged)])
            var row = Recording(cameraSerial: "A123456", sourcePath: Data("DCIM/\(index).MP4".utf8), sourceName: "DCIM/\(index).MP4",
                                size: staged.size, sourceModified: nil, sha256: staged.sha256, mediaType: "video", collectedAt: Date())
            row.important = index == importantIndex
            row.correctedStartedAt = Date(timeIntervalSince1970: 1_730_000_000 + Double(index) * 60)
            rows.append(row)
        }
        return (store, try store.commit(rows).map(\.recording))
    }

    private func states(_ store: EvidenceStore) throws -> [UploadState: Int] {
        let status = try store.syncStatus()
        var states: [UploadState: Int] = [:]
        for (state, count) in [(UploadState.pending, status.pending), (.batched, status.uploading), (.uploaded, status.uploaded),
                               (.receipted, status.receipted), (.refused, status.refused)] where count > 0 {
            states[state] = count
        }
        return states
    }

    private func kinds(_ store: EvidenceStore, _ recording: Recording) throws -> [String] {
        try store.custodyEvents(recordingId: recording.id).map(\.kind)
    }

    func testAnItemGoesFromPendingThroughUploadedToReceiptedWithOneEventEachStep() throws {
        let (store, recordings) = try storeWithRecordings(["one", "two"])
        XCTAssertEqual(try states(store), [.pending: 2])
        let batch = try XCTUnwrap(try store.prepareBatch(limit: 10))
        XCTAssertEqual(try states(store), [.batched: 2])
        XCTAssertNil(try store.prepareBatch(limit: 10), "nothing else waits")
        let batchId = try XCTUnwrap(batch.id)
        try store.markOpened(batchId: batchId, serverBatchId: "srv-1")
        for recording in recordings {
            try store.markUploaded(batchId: batchId, sha256: recording.sha256, server: "http://127.0.0.1:1", serverBatchId: "srv-1",
                                   sentBytes: recording.size, alreadyHeld: false)
        }
        XCTAssertEqual(try states(store), [.uploaded: 2])
        try store.markReceipted(batchId: batchId, serverBatchId: "srv-1", payload: Data("receipt".utf8), signature: "sig",
                                serverTime: "2026-12-01T00:00:00Z", receiptedHashes: Set(recordings.map(\.sha256)))
        XCTAssertEqual(try states(store), [.receipted: 2])
        XCTAssertEqual(try store.syncStatus().retainedOnline, 1)
        XCTAssertEqual(try kinds(store, recordings[0]).suffix(2), ["uploaded", "receipted"])
        XCTAssertTrue(try store.verify().isIntact)

        // Receipted again (the same receipt answered twice): no second event.
        try store.markReceipted(batchId: batchId, serverBatchId: "srv-1", payload: Data("receipt".utf8), signature: "sig",
                                serverTime: "2026-12-01T00:00:00Z", receiptedHashes: Set(recordings.map(\.sha256)))
        XCTAssertEqual(try kinds(store, recordings[0]).filter { $0 == "receipted" }.count, 1)
    }

    func testImportantItemsAreBatchedFirstThenTheOldest() throws {
        let (store, recordings) = try storeWithRecordings(["a", "b", "c", "d"], importantIndex: 2)
        let first = try XCTUnwrap(try store.prepareBatch(limit: 2))
        let hashes = Set(try store.hashes(inBatch: try XCTUnwrap(first.id), state: .batched))
        XCTAssertEqual(hashes, [recordings[2].sha256, recordings[0].sha256], "the important one, then the oldest")
    }

    func testARefusedItemWaitsNamedUntilRequeuedAndAReceiptThatLeavesAnItemOutRequeuesIt() throws {
        let (store, recordings) = try storeWithRecordings(["kept", "refused", "left-out"])
        let batchId = try XCTUnwrap(try store.prepareBatch(limit: 10)?.id)
        try store.markOpened(batchId: batchId, serverBatchId: "srv-2")
        try store.markUploaded(batchId: batchId, sha256: recordings[0].sha256, server: "s", serverBatchId: "srv-2",
                               sentBytes: 4, alreadyHeld: true)
        try store.markRefused(batchId: batchId, sha256: recordings[1].sha256, reason: "stored copy does not match its hash")
        XCTAssertEqual(try store.hashes(inBatch: batchId, state: .refused), [recordings[1].sha256])
        try store.markReceipted(batchId: batchId, serverBatchId: "srv-2", payload: Data("r".utf8), signature: "s",
                                serverTime: "t", receiptedHashes: [recordings[0].sha256])
        XCTAssertEqual(try states(store), [.receipted: 1, .refused: 1, .pending: 1],
                       "the item the receipt left out waits again; the refused one stays refused")
        let waiting = try store.syncStatus().waiting
        XCTAssertEqual(waiting.first { $0.sha256 == recordings[1].sha256 }?.reason, "stored copy does not match its hash")
        XCTAssertEqual(try kinds(store, recordings[1]).last, "upload-refused")

        XCTAssertEqual(try store.prepareBatch(limit: 10).map { try store.hashes(inBatch: $0.id!, state: .batched) },
                       [recordings[2].sha256], "only the left-out item is batched again")
        try store.requeueRefused()
        XCTAssertEqual(try states(store)[.refused], nil)
        XCTAssertEqual(try states(store)[.pending], 1, "the refused item waits again after --retry-refused")
    }

    func testABatchListsItsItemsInBatchOrderAndStatusNamesWhatWaitsRefusedFirst() throws {
        let (store, recordings) = try storeWithRecordings(["first", "second", "third"], importantIndex: 2)
        let batchId = try XCTUnwrap(try store.prepareBatch(limit: 10)?.id)
        XCTAssertEqual(try store.entries(inBatch: batchId).map(\.item.sha256), [recordings[2], recordings[0], recordings[1]].map(\.sha256),
                       "the important one, then by start time")
        XCTAssertEqual(try store.entries(inBatch: batchId).map(\.custody.isEmpty), [false, false, false], "each carries its custody")
        XCTAssertEqual(try store.entries(inBatch: batchId + 1).count, 0, "another batch holds nothing")
        try store.markOpened(batchId: batchId, serverBatchId: "srv-3")
        try store.noteWaiting(batchId: batchId, reason: "the server is unreachable")
        try store.markRefused(batchId: batchId, sha256: recordings[1].sha256, reason: "bytes do not match")
        let waiting = try store.syncStatus().waiting
        XCTAssertEqual(waiting.map(\.state), [.refused, .batched, .batched])
        XCTAssertEqual(waiting.first?.source, "DCIM/1.MP4")
        XCTAssertEqual(waiting.first?.camera, "A123456")
        XCTAssertEqual(waiting.first?.kind, .recording)
        XCTAssertEqual(waiting.last?.reason, "the server is unreachable")
        let backlog = try store.syncBacklog()
        XCTAssertEqual(backlog.items, 2, "a refused item is not part of the backlog")
        XCTAssertEqual(backlog.bytes, recordings[0].size + recordings[2].size)

        try store.markUploaded(batchId: batchId, sha256: recordings[0].sha256, server: "s", serverBatchId: "srv-3", sentBytes: 5, alreadyHeld: false)
        try store.markReceipted(batchId: batchId, serverBatchId: "srv-3", payload: Data("r".utf8), signature: "s", serverTime: "t",
                                receiptedHashes: [recordings[0].sha256])
        XCTAssertEqual(try store.receiptedRecordingIds(camera: "A123456"), [try XCTUnwrap(recordings[0].id)])
        XCTAssertEqual(try store.receiptedRecordingIds(camera: "B000000"), [])
        XCTAssertEqual(try store.receipts().map(\.state), [.committed])
        XCTAssertEqual(try store.unfinishedBatches(), [])
    }
}
