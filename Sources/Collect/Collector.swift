import Common
import Devices
import Evidence
import Foundation
import Store
#if canImport(Glibc)
import Glibc
#endif

/// The camera a volume belongs to, as the gateway knows it at collection time.
public struct CameraContext: Sendable {
    public var serial: String
    public var vendor: String?
    public var model: String?
    /// The officer bound to the camera (its ZFY_INFO record), used when a file name has none.
    public var officerNumber: String?
    /// Camera clock minus gateway clock at docking, in seconds; nil when not measured.
    public var clockDriftSeconds: Double?
    /// The time zone of the camera's clock (its file names are local time).
    public var timeZone: TimeZone
    /// When the camera was docked, for the late-docking rule; nil for a folder imported by hand.
    public var dockedAt: Date?

    public init(serial: String, vendor: String? = nil, model: String? = nil, officerNumber: String? = nil,
                clockDriftSeconds: Double? = nil, timeZone: TimeZone = .current, dockedAt: Date? = nil) {
        self.dockedAt = dockedAt
        self.serial = serial
        self.vendor = vendor
        self.model = model
        self.officerNumber = officerNumber
        self.clockDriftSeconds = clockDriftSeconds
        self.timeZone = timeZone
    }
}

/// What one collection did, for the summary line and `--json`.
public struct CollectSummary: Sendable, Encodable {
    public struct Failure: Sendable, Codable, Equatable {
        public var path: String
        public var reason: String
    }

    public var camera: String
    public var source: String
    public var files = 0
    public var new = 0
    public var alreadyCollected = 0
    public var flagged = 0
    /// New recordings made more than `lateDockingAfter` before the docking.
    public var lateDocking = 0
    public var failed: [Failure] = []
    public var skipped: [SkippedEntry] = []
    public var wiped = 0
    public var notWiped: [Failure] = []
    public var bytes: Int64 = 0
    public var seconds: Double = 0
    public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / 1_000_000 / seconds : 0 }
    /// Set when the collection stopped early (disk full, camera gone); what was committed stays.
    public var stoppedBecause: String?
    /// Set when the camera could not be collected at all (e.g. it refused the password).
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case camera, source, files, new, alreadyCollected, flagged, lateDocking, failed, skipped, wiped, notWiped, bytes, seconds
        case megabytesPerSecond, stoppedBecause, error
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(camera, forKey: .camera)
        try container.encode(source, forKey: .source)
        try container.encode(files, forKey: .files)
        try container.encode(new, forKey: .new)
        try container.encode(alreadyCollected, forKey: .alreadyCollected)
        try container.encode(flagged, forKey: .flagged)
        try container.encode(lateDocking, forKey: .lateDocking)
        try container.encode(failed, forKey: .failed)
        try container.encode(skipped, forKey: .skipped)
        try container.encode(wiped, forKey: .wiped)
        try container.encode(notWiped, forKey: .notWiped)
        try container.encode(bytes, forKey: .bytes)
        try container.encode((seconds * 1000).rounded() / 1000, forKey: .seconds)
        try container.encode((megabytesPerSecond * 10).rounded() / 10, forKey: .megabytesPerSecond)
        try container.encode(stoppedBecause, forKey: .stoppedBecause)
        try container.encode(error, forKey: .error)
    }

    public init(camera: String, source: String) {
        self.camera = camera
        self.source = source
    }
}

/// Progress of a collection: files and bytes done of the totals found by the walk.
public struct CollectProgress: Sendable {
    public var filesDone: Int
    public var filesTotal: Int
    public var bytesDone: Int64
    public var bytesTotal: Int64
    public var current: String
}

/// Collect: copies every recording of a volume into the store once, hashed while copied,
/// durable before it is indexed, attributed and flagged, then frees the camera by policy.
public struct Collector: Sendable {
    public let store: EvidenceStore
    public var freePolicy: FreePolicy
    /// Attempts for a file that changes while it is copied, before it is kept and flagged.
    public var attemptsForChangingFile = 3
    /// Rows are committed in batches once their bytes are durable: at most this many files…
    public var batchFiles = 1024
    /// …or this many bytes.
    public var batchBytes: Int64 = 1 << 30
    /// Files staged at once: each spends much of its time waiting on its own fdatasync, so
    /// several keep the disk and the cores busy. One makes the order of work strictly sequential.
    public var workers = 4
    /// Asked between files: true stops the collection cleanly (what is durable is committed,
    /// the rest is left for the next collection).
    public var shouldStop: @Sendable () -> Bool = { false }
    /// A recording that started this long before its camera was docked is flagged
    /// `late-docking` (the station sets a day); nil: no such rule.
    public var lateDockingAfter: TimeInterval?

    public init(store: EvidenceStore, freePolicy: FreePolicy = .afterReceipt) {
        self.store = store
        self.freePolicy = freePolicy
    }

    /// Collects `root` as the volume of `camera`. `mayFree` allows deleting collected files
    /// from it as the policy says (never for an imported folder). Batch by batch: the files
    /// not yet stored are staged, made durable and placed; the batch's rows are committed on
    /// another thread while the next is staged.
    public func collect(root: String, camera: CameraContext, mayFree: Bool,
                        progress: @escaping @Sendable (CollectProgress) -> Void = { _ in }) throws(CollectError) -> CollectSummary {
        var run = try CollectionRun(collector: self, root: root, camera: camera, mayFree: mayFree, progress: progress)
        // Why the collection stopped early, as a type: a full disk is the command's error, not just a line.
        var stoppedBy: CollectError?
        while run.hasMoreFiles {
            if shouldStop() {
                stoppedBy = .stopped
                break
            }
            if let stop = run.stageNextBatch() {
                stoppedBy = stop  // what is durable is committed at the end; then stop cleanly
                break
            }
        }
        return try run.finish(stoppedBy: stoppedBy)
    }

    /// What became of one file.
    enum Outcome: Sendable {
        /// Copied and described; its bytes become durable with the batch's `syncStaged`, then it is placed.
        case staged(Recording, BlobStore.Staged)
        case failed(String)
        /// The whole collection must stop (a full disk).
        case stop(CollectError)
        /// Not begun: the collection was asked to stop first.
        case notStarted
    }

    /// Stages `entries` on `workers` threads; the outcomes come back in the entries' order.
    func stageAll(_ entries: [VolumeEntry], volume: OpenVolume, camera: CameraContext, registered: Bool,
                          officers: [String: Officer], starting: @escaping @Sendable (VolumeEntry) -> Void) -> [Outcome] {
        let results = OutcomeSlots(count: entries.count)
        let cursor = Counter()
        // Threads of their own, not Dispatch's pool: on Linux that pool is as wide as the cores,
        // and its threads block in reads from a slow camera, so bays would wait for each other.
        Self.onThreads(max(1, min(workers, entries.count))) {
            while true {
                let index = cursor.add(1) - 1
                guard index < entries.count, !shouldStop() else { return }
                starting(entries[index])
                results.set(index, collectOne(entries[index], volume: volume, camera: camera, registered: registered, officers: officers))
            }
        }
        return results.values
    }

    /// Runs `body` on `count` threads (this one among them) and returns when all have.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable () -> Void) {
        let done = DispatchGroup()
        for _ in 1..<max(1, count) {
            done.enter()
            Thread {
                body()
                done.leave()
            }.start()
        }
        body()
        done.wait()
    }

    /// Stages, probes, places and describes one file.
    private func collectOne(_ entry: VolumeEntry, volume: OpenVolume, camera: CameraContext, registered: Bool,
                            officers: [String: Officer]) -> Outcome {
        var staged: BlobStore.Staged?
        var probed: MediaInfo?
        for _ in 0..<attemptsForChangingFile {
            let opened = VolumeWalker.openFile(in: volume, path: entry.path)
            guard opened.descriptor >= 0 else {
                if let earlier = staged { store.blobs.discard(earlier) }
                return .failed("cannot be opened: \(String(cString: strerror(opened.error)))")
            }
            defer { close(opened.descriptor) }
            if let earlier = staged { store.blobs.discard(earlier) }
            do {
                staged = try store.blobs.stage(descriptor: opened.descriptor, name: entry.displayPath, durable: false,
                                               whileOpen: { probed = MediaProbe.probe(descriptor: $0) })
            } catch .diskFull(let path) {
                return .stop(.store(.diskFull(path)))
            } catch {
                return .failed(error.description)
            }
            if staged?.changedWhileCopying == false { break }
        }
        guard let staged else { return .failed("not copied") }
        let media = probed ?? MediaProbe.probe(fileAt: staged.temporaryPath)

        let name = RecordingName.parse(String(decoding: entry.name, as: UTF8.self))
        var flags: RecordingFlags = []
        if !registered { flags.insert(.unregisteredCamera) }
        if name == nil { flags.insert(.nonstandardName) }
        if let name, name.cameraSerial != camera.serial { flags.insert(.serialMismatch) }
        if staged.size == 0 { flags.insert(.emptyFile) }
        if staged.changedWhileCopying { flags.insert(.changedWhileCopying) }
        if media.mediaType == .unknown {
            if staged.size > 0 { flags.insert(.unrecognisedContent) }
        } else if !media.problems.isEmpty {
            flags.insert(.damagedContent)
        }
        let officerNumber = name?.officerNumber ?? camera.officerNumber
        let startDate = name?.startDate(in: camera.timeZone)
        if let limit = lateDockingAfter, let docked = camera.dockedAt,
           let started = startDate.map({ $0.addingTimeInterval(-(camera.clockDriftSeconds ?? 0)) }) ?? media.createdAt,
           docked.timeIntervalSince(started) > limit {
            flags.insert(.lateDocking)
        }
        if let officerNumber {
            if let officer = officers[officerNumber] {
                let day = startDate.map { DateFormatter.day(in: camera.timeZone).string(from: $0) }
                if officer.certificateStatus == .revoked { flags.insert(.certificateRevoked) }
                else if !officer.isCertified(on: day) { flags.insert(.certificateExpired) }
            } else {
                flags.insert(.unknownOfficer)
            }
        } else {
            flags.insert(.unknownOfficer)
        }
        let problems = Self.problemsJSON(media.problems)
        return .staged(Recording(
            cameraSerial: camera.serial, sourcePath: Data(entry.path), sourceName: entry.displayPath, size: staged.size,
            sourceModified: entry.modified, sha256: staged.sha256, mediaType: media.mediaType, container: media.container,
            durationSeconds: media.durationSeconds, mediaCreatedAt: media.createdAt, capturedAtLocal: media.capturedAtLocal,
            cameraStartedAt: name?.startedAt,
            correctedStartedAt: startDate.map { $0.addingTimeInterval(-(camera.clockDriftSeconds ?? 0)) },
            clockDriftSeconds: camera.clockDriftSeconds, sequence: name?.sequence, important: name?.important ?? false,
            officerNumber: officerNumber, flags: flags, problems: problems, collectedAt: Date()), staged)
    }

    /// The probe's problems as the JSON array the store keeps (a JSONEncoder made for each of
    /// 10,000 photos showed in the profile).
    static func problemsJSON(_ problems: [String]) -> String {
        problems.isEmpty ? "[]" : JSONText.array(problems)
    }

    static func sameTime(_ stored: Date?, _ modified: Date) -> Bool {
        guard let stored else { return true }
        return abs(stored.timeIntervalSince(modified)) < 0.001
    }

    /// Deletes a verified recording's source from the volume and records it; a read-only
    /// volume leaves it in place and says so.
    func free(_ recording: Recording, source: VolumeEntry, volume: OpenVolume, summary: inout CollectSummary) {
        // The stored copy is re-checked first; one removed to make room is held by the server per
        // its receipt (only receipted copies are ever removed), which is what after-receipt asks.
        guard recording.localCopyRemovedAt != nil || (try? store.blobs.hash(of: recording.sha256)) == recording.sha256 else {
            summary.notWiped.append(.init(path: source.displayPath, reason: "stored copy did not verify; left on the camera"))
            return
        }
        let failure = VolumeWalker.removeFile(in: volume, path: source.path)
        if failure == ENOENT { return }  // gone from the camera already: nothing left to free
        if failure == 0 {
            try? store.markWiped(recording)
            summary.wiped += 1
        } else {
            summary.notWiped.append(.init(path: source.displayPath, reason: String(cString: strerror(failure))))
        }
    }
}

extension DateFormatter {
    static func day(in timeZone: TimeZone) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter
    }
}

/// A thread-safe counter; `add` returns the new value.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    @discardableResult
    func add(_ amount: Int) -> Int { lock.withLock { value += amount; return value } }
}

/// A thread-safe byte count; `add` returns the new value.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64

    init(_ start: Int64) { value = start }

    func add(_ amount: Int64) -> Int64 { lock.withLock { value += amount; return value } }
}

/// One result slot per staged file, filled by the workers.
final class OutcomeSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Collector.Outcome?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ outcome: Collector.Outcome) { lock.withLock { slots[index] = outcome } }
    var values: [Collector.Outcome] { lock.withLock { slots.map { $0 ?? .notStarted } } }
}

/// One batch's durable blobs made visible (one syncfs) and its rows committed, on a thread of
/// its own so the next batch can be staged meanwhile.
final class PendingCommit: @unchecked Sendable {
    let sources: [VolumeEntry]
    private let store: EvidenceStore
    private let rows: [Recording]
    private let folders: Set<URL>
    private let done = DispatchSemaphore(value: 0)
    // Written once before `done` is signalled, read only after waiting on it.
    private var result: Result<[(recording: Recording, isNew: Bool)], CollectError> = .success([])

    init(store: EvidenceStore, rows: [Recording], sources: [VolumeEntry], folders: Set<URL>) {
        self.sources = sources
        self.store = store
        self.rows = rows
        self.folders = folders
        Thread { [self] in
            result = commitNow()
            done.signal()
        }.start()
    }

    private func commitNow() -> Result<[(recording: Recording, isNew: Bool)], CollectError> {
        do {
            try store.blobs.syncFolders(folders)
            return .success(try store.commit(rows))
        } catch let error as StoreError {
            return .failure(.store(error))
        } catch {
            return .failure(.database("\(error)"))
        }
    }

    func wait() -> Result<[(recording: Recording, isNew: Bool)], CollectError> {
        done.wait()
        return result
    }

    /// Commits again, on this thread: a commit that met a full disk (the next batch's copies
    /// took the room) succeeds once those copies are dropped. Committing is idempotent.
    func retry() -> Result<[(recording: Recording, isNew: Bool)], CollectError> { commitNow() }
}
