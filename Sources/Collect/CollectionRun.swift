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

    /// Takes the next batch of files not yet stored (freeing stored ones the policy lets go),
    /// stages them, makes them durable with one syncfs and places them. Returns why the whole
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
        return place(batch, outcomes)
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

    /// One syncfs makes every staged copy of the batch durable before any is renamed into place.
    private mutating func place(_ batch: [VolumeEntry], _ outcomes: [Collector.Outcome]) -> CollectError? {
        var stop: CollectError?
        var placing: CollectError?
        // A full disk: this batch's copies are dropped, so the batch being committed has the
        // room its rows need; what is durable is committed, and the rest waits for next time.
        if outcomes.contains(where: { if case .stop(.store(.diskFull)) = $0 { true } else { false } }) {
            placing = .store(.diskFull(store.home.path))
        } else if outcomes.contains(where: { if case .staged = $0 { true } else { false } }) {
            do {
                try store.blobs.syncStaged()
            } catch {
                placing = .store(error)
            }
        }
        for (entry, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .staged(let recording, let copy):
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
            case .failed(let reason):
                summary.failed.append(.init(path: entry.displayPath, reason: reason))
            case .stop(let error):
                stop = stop ?? error
            case .notStarted:
                stop = stop ?? .stopped
            }
        }
        return stop
    }

    /// Waits for the batch being committed and accounts for it, in batch order.
    mutating func settle() throws(CollectError) {
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

    /// Starts committing the staged batch's rows (after one syncfs of their renamed entries).
    mutating func startCommit() {
        guard !pending.isEmpty else { return }
        inFlight = PendingCommit(store: store, rows: pending, sources: pendingSources, folders: folders)
        pending.removeAll()
        pendingSources.removeAll()
        folders.removeAll()
    }

    /// Commits what is staged, records the collection and returns its summary; a full disk
    /// is the collection's error (what was durable is committed, nothing half-written).
    mutating func finish(stoppedBy: CollectError?) throws(CollectError) -> CollectSummary {
        var stoppedBy = stoppedBy
        do {
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
