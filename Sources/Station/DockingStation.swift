import Collect
import Devices
import Drivers
import Foundation
import Store
import USB

/// A flag set once, read from any thread: the station is stopping.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false

    public init() {}
    public func raise() { lock.withLock { set = true } }
    public var isRaised: Bool { lock.withLock { set } }
}

/// The docking station: every camera docked is collected in a bay of its own, up to
/// `maxParallelBays` at once, as soon as it is seen (at start, then on each USB hotplug event
/// and on a periodic rescan). One bay's failure is that bay's tile; the others go on.
public final class DockingStation: Sendable {
    public let store: EvidenceStore
    public let finder: CameraFinder
    public let config: GatewayConfig
    public let board: StatusBoard
    let stop: StopFlag
    let log: @Sendable (String) -> Void
    /// A rescan also runs this often, for buses (or emulations) that miss hotplug events.
    let rescanInterval: Duration
    private let running = RunningBays()
    private let wake: AsyncStream<Void>.Continuation
    private let wakeups: AsyncStream<Void>

    public init(store: EvidenceStore, finder: CameraFinder, config: GatewayConfig, board: StatusBoard, stop: StopFlag,
                rescanInterval: Duration = .seconds(2), log: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.finder = finder
        self.config = config
        self.board = board
        self.stop = stop
        self.rescanInterval = rescanInterval
        self.log = log
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a rescan soon (a camera arrived or left, a bay finished, receipts came in).
    public func rescanSoon() { wake.yield() }

    /// Runs until `stop` is raised and every bay in flight has ended.
    public func run() async {
        let hotplug = try? finder.context.hotplugEvents()
        await withDiscardingTaskGroup { group in
            if let hotplug {
                group.addTask { [self] in
                    for await _ in hotplug {
                        if stop.isRaised { return }
                        rescanSoon()
                    }
                }
            }
            group.addTask { [self] in
                while !stop.isRaised {
                    try? await Task.sleep(for: rescanInterval)
                    rescanSoon()
                }
                wake.finish()
            }
            rescanSoon()
            var roomChecked = ContinuousClock.now - .seconds(60)
            for await _ in wakeups {
                if stop.isRaised { break }
                if ContinuousClock.now - roomChecked >= .seconds(5) || board.isDiskFull {
                    keepRoom()
                    noteSilentCameras()
                    roomChecked = ContinuousClock.now
                }
                // Settle: the camera's interfaces and disk appear over a few hundred milliseconds.
                try? await Task.sleep(for: .milliseconds(150))
                for camera in rescan() {
                    group.addTask { [self] in
                        await collect(camera)
                        running.remove(camera.serial)
                        rescanSoon()
                    }
                }
            }
            // Hotplug and the timer end with the group's cancellation; bays finish their batch.
            group.cancelAll()
        }
    }

    /// The cameras to start now: docked, not in a bay already, not already done while docked.
    private func rescan() -> [CameraFinder.DockedCamera] {
        let cameras: [CameraFinder.DockedCamera]
        do {
            cameras = try finder.dockedCameras()
        } catch {
            log("cannot list USB devices: \(error)")
            return []
        }
        var seen: Set<String> = []
        var start: [CameraFinder.DockedCamera] = []
        for camera in cameras where seen.insert(camera.serial).inserted {
            if running.contains(camera.serial) { continue }
            if let bay = board.bay(camera.serial), bay.docked {
                // Seen before and never taken away: started again only when it waits for a free
                // bay, or a retry or a freeing pass is due; an error otherwise waits for re-docking.
                let queued = bay.state == .identifying
                if !queued && !board.retryDue(camera.serial) { continue }
            }
            if stop.isRaised { break }
            if board.isDiskFull && !diskHasRoom() {
                board.begin(camera.serial, model: camera.match.model)
                board.fail(camera.serial, reason: "the store's disk is full: collection is paused",
                           nextStep: "free space on the gateway's disk; collection resumes by itself", retryAfter: 15)
                continue
            }
            guard running.insert(camera.serial, limit: board.maxParallelBays) else {
                if board.bay(camera.serial).map({ $0.state != .identifying || !$0.docked }) ?? true {
                    board.begin(camera.serial, model: camera.match.model,
                                reason: "waiting for a free bay (\(board.maxParallelBays) cameras are being collected)")
                }
                continue
            }
            board.begin(camera.serial, model: camera.match.model)
            log("bay \(camera.serial): docked (\(camera.match.model ?? "camera"), \(camera.match.mode.rawValue) mode)")
            start.append(camera)
        }
        for serial in board.dockedSerials where !seen.contains(serial) && !running.contains(serial) {
            board.undocked(serial)
        }
        return start
    }

    private func diskHasRoom() -> Bool {
        let disk = StatusBoard.disk(at: store.home)
        let room = disk.freeBytes > 64 << 20
        if room { board.setDiskFull(false) }
        return room
    }

    /// One bay: dock, collect, classify the outcome.
    func collect(_ camera: CameraFinder.DockedCamera) async {
        let serial = camera.serial
        var collector = Collector(store: store, freePolicy: config.freePolicy)
        let stop = self.stop
        collector.shouldStop = { stop.isRaised }
        collector.lateDockingAfter = 24 * 3600
        let docking = Docking(finder: finder, config: config, events: store, mountRoot: store.home.appendingPathComponent("mnt"))
        let collection = CameraCollection(docking: docking, collector: collector, store: store)
        let board = self.board
        do {
            let summary = try await collection.collect(camera, docked: { info in
                board.update(serial) { bay in
                    bay.officer = info.record?.officerNumber
                    bay.officerName = info.record?.officerName
                    bay.battery = info.battery
                    bay.state = .collecting
                }
            }, progress: { progress in
                board.progress(serial, filesDone: progress.filesDone, filesTotal: progress.filesTotal,
                               bytesDone: progress.bytesDone, bytesTotal: progress.bytesTotal)
            })
            finish(serial, summary)
        } catch let error as CollectError {
            switch error {
            case .store(.diskFull):
                board.setDiskFull(true)
                let made = keepRoom()
                board.fail(serial, reason: error.description, nextStep: "free space on the gateway's disk; collection resumes by itself",
                           retryAfter: made > 0 ? 1 : 15)
            case .cameraBusy:
                board.fail(serial, reason: error.description, nextStep: nil, retryAfter: 5)
            default:
                board.fail(serial, reason: error.description, nextStep: "dock the camera again; what is stored is kept")
            }
            log("bay \(serial): error: \(error)")
        } catch let error as CameraError {
            board.fail(serial, reason: error.description, nextStep: Self.nextStep(for: error))
            log("bay \(serial): error: \(error)")
        } catch {
            board.fail(serial, reason: "\(error)", nextStep: "dock the camera again; what is stored is kept")
            log("bay \(serial): error: \(error)")
        }
    }

    private func finish(_ serial: String, _ summary: CollectSummary) {
        if stop.isRaised, summary.stoppedBecause != nil {
            board.fail(serial, reason: CollectError.stopped.description, nextStep: "leave it docked: the station continues when it starts again")
            return
        }
        if !summary.failed.isEmpty {
            let docked = (try? finder.dockedCameras().contains { $0.serial == serial }) ?? false
            let first = summary.failed[0]
            if docked {
                board.fail(serial, reason: "\(summary.failed.count) of \(summary.files) file(s) could not be read (\(first.path): \(first.reason))",
                           nextStep: "dock it again to retry; what is stored is kept and only the rest is copied")
            } else {
                board.fail(serial, reason: "undocked during the copy: \(summary.failed.count) of \(summary.files) file(s) not collected",
                           nextStep: "dock it again: what is stored is kept and only the rest is copied")
                board.update(serial) { $0.docked = false }
            }
            log("bay \(serial): \(summary.new) new, \(summary.failed.count) not collected")
            return
        }
        if let stopped = summary.stoppedBecause {
            board.fail(serial, reason: stopped, nextStep: "dock it again; what is stored is kept")
            return
        }
        let freed = summary.files > 0 && summary.wiped == summary.files
        board.update(serial) { bay in
            bay.state = freed ? .freed : .done
            bay.reason = nil
            bay.nextStep = freed ? "safe to undock: every file is retained online and deleted from the camera" : "safe to undock"
            bay.filesDone = summary.files
            bay.filesTotal = summary.files
            bay.bytesDone = bay.bytesTotal
            bay.newFiles += summary.new
            bay.alreadyStored = summary.alreadyCollected
            bay.flagged += summary.flagged
            bay.lateDocking += summary.lateDocking
            bay.freedFiles += summary.wiped
            bay.bytesPerSecond = nil
            bay.etaSeconds = nil
        }
        log("bay \(serial): \(freed ? "freed" : "done"): \(summary.new) new, \(summary.alreadyCollected) already stored, \(summary.wiped) deleted from the camera")
    }

    /// With the after-receipt policy, frees the cameras still docked whose files the server
    /// has now receipted: each goes through its bay again, which deletes only receipted files
    /// (after re-checking the stored copy) and copies nothing twice.
    public func freeReceipted() -> Int {
        guard config.freePolicy == .afterReceipt else { return 0 }
        var started = 0
        for serial in board.dockedSerials {
            guard let bay = board.bay(serial), bay.state == .done, !running.contains(serial),
                  let counts = try? store.onCamera(serial: serial), counts.receipted > 0 else { continue }
            board.requestPass(serial)
            started += 1
        }
        if started > 0 { rescanSoon() }
        return started
    }

    /// Keeps `keep_free` on the store's disk: below it, the local copies of receipted
    /// recordings go, oldest first (never an unreceipted one, never an important one younger
    /// than `keep_important_days`). Returns the bytes freed.
    @discardableResult
    public func keepRoom() -> Int64 {
        guard let reserve = config.keepFree else { return 0 }
        let disk = StatusBoard.disk(at: store.home)
        let wanted = reserve.bytes(ofDisk: disk.totalBytes)
        guard disk.totalBytes > 0, disk.freeBytes < wanted else {
            board.setRoomWarning(nil)
            return 0
        }
        let removed: [LocalCopyRemoval]
        do {
            removed = try store.removeLocalCopies(
                toFree: wanted - disk.freeBytes, keepImportantFor: config.keepImportantDays,
                reason: "the station's disk had \(disk.freeBytes) bytes free, under keep_free (\(reserve))")
        } catch {
            log("cannot make room: \(error)")
            return 0
        }
        let freed = removed.reduce(Int64(0)) { $0 + $1.bytesFreed }
        if !removed.isEmpty {
            log("made room: removed \(removed.count) receipted local cop\(removed.count == 1 ? "y" : "ies") (\(freed) bytes); the server holds them per receipt")
        }
        let after = StatusBoard.disk(at: store.home)
        if after.freeBytes < wanted {
            board.setRoomWarning("The store's disk is below keep_free (\(reserve)) and no receipted copy is left to remove: "
                + "collection stops when it is full. Sync, or add space.")
        } else {
            board.setRoomWarning(nil)
        }
        if freed > 0 && board.isDiskFull { board.setDiskFull(false) }
        return freed
    }

    /// Registered cameras not docked for more than `silent_camera_days`: evidence that may be
    /// sitting on a camera nobody brings back.
    func noteSilentCameras(now: Date = Date()) {
        guard let cameras = try? store.cameras() else { return }
        let limit = TimeInterval(config.silentCameraDays) * 86_400
        let docked = Set(board.dockedSerials)
        let silent = cameras.filter { camera in
            camera.registered && !docked.contains(camera.serial) && (camera.lastSeenAt.map { now.timeIntervalSince($0) > limit } ?? true)
        }.map { camera in
            SilentCamera(serial: camera.serial, officer: camera.officerNumber, lastDockedAt: camera.lastSeenAt,
                         days: camera.lastSeenAt.map { Int(now.timeIntervalSince($0) / 86_400) })
        }
        board.setSilentCameras(silent, days: config.silentCameraDays)
    }

    static func nextStep(for error: CameraError) -> String? {
        switch error {
        case .wrongPassword, .noPassword: "set the camera's password in the gateway's config file, then dock it again"
        case .storageModeTimeout, .usb, .notFound: "dock the camera again"
        case .malformed, .refused, .unsupported: "note the camera's serial and report it; collect its card in a reader with `fieldgate collect --from`"
        }
    }
}

/// The serials being collected now.
final class RunningBays: @unchecked Sendable {
    private let lock = NSLock()
    private var serials: Set<String> = []

    func contains(_ serial: String) -> Bool { lock.withLock { serials.contains(serial) } }
    func insert(_ serial: String, limit: Int) -> Bool {
        lock.withLock {
            guard serials.count < limit else { return false }
            return serials.insert(serial).inserted
        }
    }
    func remove(_ serial: String) { _ = lock.withLock { serials.remove(serial) } }
}
