import Evidence
import Foundation
import Store

/// One collection of one volume in progress: what is known about the camera and the volume,
/// the summary so far, and the batch being committed.
struct CollectionRun {
    let collector: Collector
    let root: String
    /// The volume held open for the run: files are opened below it, not from its path each time.
    let volume: OpenVolume
    let camera: CameraContext
    let mayFree: Bool
    let progress: @Sendable (CollectProgress) -> Void
    let started = Date()
    let files: [VolumeEntry]
    let bytesTotal: Int64
    private(set) var summary: CollectSummary
    private var collection: Collection
    private let registered: Bool
    private let officers: [String: Officer]
    /// What the store holds of this camera, by path on the volume.
    private let known: [Data: [Recording]]
    /// After-receipt freeing: the files the central server has receipted may leave the camera.
    private let receipted: Set<Int64>
    private var next = 0
    private var bytesDone: Int64 = 0
    private let filesStarted = Counter()
    private var pending: [Recording] = []
    private var pendingSources: [VolumeEntry] = []
    private var folders: Set<URL> = []
    /// A batch's rows being committed on another thread while the next batch is staged.
    private var inFlight: PendingCommit?
    /// The batch staged last, whose syncfs runs while the next is staged.
    private var syncing: StagedBatch?

    private var store: EvidenceStore { collector.store }

    init(collector: Collector, root: String, camera: CameraContext, mayFree: Bool,
         progress: @escaping @Sendable (CollectProgress) -> Void) throws(CollectError) {
        self.collector = collector
        self.root = root
        self.camera = camera
        self.mayFree = mayFree
        self.progress = progress
        volume = try OpenVolume(root)
        let (files, skipped) = try VolumeWalker.walk(volume)
        self.files = files
        bytesTotal = files.reduce(Int64(0)) { $0 + $1.size }
        summary = CollectSummary(camera: camera.serial, source: root)
        summary.files = files.count
        summary.skipped = skipped
        let store = collector.store
        do {
            try store.noteCameraSeen(serial: camera.serial, vendor: camera.vendor, model: camera.model, officerNumber: camera.officerNumber)
            registered = try store.camera(serial: camera.serial)?.registered ?? false
            collection = try store.begin(Collection(cameraSerial: camera.serial, source: root, startedAt: started))
            known = try store.recordingsBySourcePath(camera: camera.serial)
            receipted = collector.freePolicy == .afterReceipt ? try store.receiptedRecordingIds(camera: camera.serial) : []
        } catch {
            throw CollectError.database("\(error)")
        }
        officers = Dictionary(((try? store.officers()) ?? []).map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var hasMoreFiles: Bool { next < files.count }

    /// Takes the next batch of files not yet stored (freeing stored ones the policy lets go) and
    /// stages it while the previous batch's syncfs runs; then places the previous batch, whose
    /// copies that syncfs made durable, and starts this batch's. Returns why the whole
    /// collection must stop, if it must.
    mutating func stageNextBatch() -> CollectError? {
        let (batch, batchBytes) = nextBatch()
        let bytesStarted = ByteCounter(bytesDone)
        let filesStarted = self.filesStarted, total = files.count, bytesTotal = self.bytesTotal, progress = self.progress
        let outcomes = collector.stageAll(batch, volume: volume, camera: camera, registered: registered, officers: officers) { entry in
            let position = filesStarted.add(1) - 1
            // Bytes of the files before this one: what a person at the dock sees move.
            let before = bytesStarted.add(entry.size) - entry.size
            progress(CollectProgress(filesDone: position, filesTotal: total, bytesDone: before, bytesTotal: bytesTotal,
                                     current: entry.displayPath))
        }
        bytesDone += batchBytes
        var staged = StagedBatch(entries: batch, outcomes: outcomes)
        // A full disk: this batch's copies are dropped at once, so the batches before it have
        // the room their rows need; what is durable is committed, and the rest waits for next time.
        if staged.metFullDisk {
            staged.drop(store.blobs)
        }
        let earlier = placeSyncing()
        if let earlier {
            staged.drop(store.blobs)
            account(staged)
            return earlier
        }
        if staged.hasCopies { staged.durability = BackgroundSync(store.blobs) }
        syncing = staged
        return staged.metFullDisk ? .store(.diskFull(store.home.path)) : staged.stop
    }

    /// Waits for the syncfs of the batch staged last and places it: that syncfs also made the
    /// batch before's renamed entries durable, so its rows are committed now, without a syncfs
    /// of their own.
    private mutating func placeSyncing() -> CollectError? {
        guard let batch = syncing else { return nil }
        syncing = nil
        var placing: CollectError?
        if let durability = batch.durability {
            if case .failure(let error) = durability.wait() {
                placing = .store(error)
            } else {
                do {
                    try settle()
                    startCommit(syncingFolders: false)
                } catch {
                    placing = error
                }
            }
        }
        return place(batch, failing: placing)
    }

    /// Renames each durable copy of the batch into place (or drops them all on `failing`).
    private mutating func place(_ batch: StagedBatch, failing: CollectError?) -> CollectError? {
        var placing = failing
        var stop = batch.stop
        for (entry, outcome) in zip(batch.entries, batch.outcomes) {
            guard case .staged(let recording, let copy) = outcome, !batch.dropped else { continue }
            if let failure = placing {
                store.blobs.discard(copy)
                stop = stop ?? failure
                continue
            }
            do {
                folders.insert(try store.blobs.place(copy))
            } catch {
                placing = .store(error)
                stop = stop ?? .store(error)
                continue
            }
            pending.append(recording)
            pendingSources.append(entry)
            summary.bytes += recording.size
        }
        account(batch)
        return stop
    }

    /// The batch's files that failed, in the summary.
    private mutating func account(_ batch: StagedBatch) {
        for (entry, outcome) in zip(batch.entries, batch.outcomes) {
            if case .failed(let reason) = outcome { summary.failed.append(.init(path: entry.displayPath, reason: reason)) }
        }
    }

    /// The next files to copy, up to the collector's batch limits; files already stored
    /// (same path, size and time) are counted and, by policy, freed on the way.
    private mutating func nextBatch() -> ([VolumeEntry], Int64) {
        var batch: [VolumeEntry] = []
        var batchBytes: Int64 = 0
        while next < files.count && batch.count < collector.batchFiles && batchBytes < collector.batchBytes {
            let entry = files[next]
            next += 1
            if let existing = known[Data(entry.path)]?.first(where: { $0.size == entry.size && Collector.sameTime($0.sourceModified, entry.modified) }) {
                summary.alreadyCollected += 1
                bytesDone += entry.size
                filesStarted.add(1)
                let policy = collector.freePolicy
                if mayFree && existing.wipedAt == nil
                    && (policy == .afterVerify || (policy == .afterReceipt && receipted.contains(existing.id ?? -1))) {
                    collector.free(existing, source: entry, volume: volume, summary: &summary)
                }
                continue
            }
            batch.append(entry)
            batchBytes += entry.size
        }
        return (batch, batchBytes)
    }

    /// Waits for the batch being committed and accounts for it, in batch order.
    private mutating func settle() throws(CollectError) {
        guard let commit = inFlight else { return }
        inFlight = nil
        var outcome = commit.wait()
        if case .failure(.store(.diskFull)) = outcome { outcome = commit.retry() }
        for (index, result) in try outcome.get().enumerated() {
            if result.isNew {
                summary.new += 1
                if result.recording.isFlagged { summary.flagged += 1 }
                if result.recording.flags.contains(.lateDocking) { summary.lateDocking += 1 }
            } else {
                summary.alreadyCollected += 1
            }
            if mayFree && collector.freePolicy == .afterVerify {
                collector.free(result.recording, source: commit.sources[index], volume: volume, summary: &summary)
            }
        }
    }

    /// Starts committing the placed rows, once their renamed entries are durable: after the
    /// next batch's syncfs, or a syncfs of their own (`syncingFolders`) when none follows.
    private mutating func startCommit(syncingFolders: Bool) {
        guard !pending.isEmpty else { return }
        inFlight = PendingCommit(store: store, rows: pending, sources: pendingSources, folders: syncingFolders ? folders : [])
        pending.removeAll()
        pendingSources.removeAll()
        folders.removeAll()
    }

    /// Commits what is staged, records the collection and returns its summary; a full disk
    /// is the collection's error (what was durable is committed, nothing half-written).
    mutating func finish(stoppedBy: CollectError?) throws(CollectError) -> CollectSummary {
        var stoppedBy = stoppedBy
        if let stop = placeSyncing() { stoppedBy = stoppedBy ?? stop }
        do {
            try settle()
            startCommit(syncingFolders: true)
            try settle()
        } catch {
            stoppedBy = stoppedBy ?? error
        }
        summary.stoppedBecause = stoppedBy?.description
        summary.seconds = Date().timeIntervalSince(started)
        progress(CollectProgress(filesDone: files.count, filesTotal: files.count, bytesDone: bytesTotal, bytesTotal: bytesTotal, current: ""))
        collection.finishedAt = Date()
        collection.newCount = summary.new
        collection.alreadyCount = summary.alreadyCollected
        collection.flaggedCount = summary.flagged
        collection.failedCount = summary.failed.count
        collection.bytes = summary.bytes
        try? store.finish(collection)
        if case .store(.diskFull) = stoppedBy {
            throw CollectError.store(.diskFull(store.home.path))
        }
        return summary
    }
}

/// One batch's outcomes between staging and placing.
struct StagedBatch {
    let entries: [VolumeEntry]
    let outcomes: [Collector.Outcome]
    /// The syncfs making its copies durable, running while the next batch is staged.
    var durability: BackgroundSync?
    /// Its copies were removed unplaced (a full disk, or an earlier batch's failure).
    private(set) var dropped = false

    init(entries: [VolumeEntry], outcomes: [Collector.Outcome]) {
        self.entries = entries
        self.outcomes = outcomes
    }

    var metFullDisk: Bool { outcomes.contains { if case .stop(.store(.diskFull)) = $0 { true } else { false } } }
    var hasCopies: Bool { outcomes.contains { if case .staged = $0 { true } else { false } } }

    /// Why staging stopped the collection, if it did.
    var stop: CollectError? {
        for outcome in outcomes {
            if case .stop(let error) = outcome { return error }
            if case .notStarted = outcome { return .stopped }
        }
        return nil
    }

    mutating func drop(_ blobs: BlobStore) {
        guard !dropped else { return }
        dropped = true
        for case .staged(_, let copy) in outcomes { blobs.discard(copy) }
    }
}

/// `BlobStore.syncStaged` on a thread of its own; `wait` gives its result.
final class BackgroundSync: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    // Written once before `done` is signalled, read only after waiting on it.
    private var result: Result<Void, StoreError> = .success(())

    init(_ blobs: BlobStore) {
        Thread { [self] in
            do throws(StoreError) {
                try blobs.syncStaged()
            } catch {
                result = .failure(error)
            }
            done.signal()
        }.start()
    }

    func wait() -> Result<Void, StoreError> {
        done.wait()
        return result
    }
}
