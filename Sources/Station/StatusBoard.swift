import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one place the station keeps its bays and its sync state. Collection threads, the sync
/// loop and the status page all reach it, so it is guarded by a lock and hands out copies.
public final class StatusBoard: @unchecked Sendable {
    private let lock = NSLock()
    private var bays: [String: BayStatus] = [:]
    private var order: [String] = []
    private var retryAt: [String: Date] = [:]
    private var sync = SyncSnapshot()
    private var diskFull = false
    private var roomWarning: String?
    private var silent: [SilentCamera] = []
    private var silentDays = 0
    private var rates: [String: RateWindow] = [:]
    let storeHome: URL
    let maxParallelBays: Int
    let version: String

    public init(storeHome: URL, maxParallelBays: Int, version: String) {
        self.storeHome = storeHome
        self.maxParallelBays = maxParallelBays
        self.version = version
    }

    /// A new tile for a camera just docked (or docked again), replacing its old one.
    func begin(_ serial: String, model: String?, reason: String? = nil) {
        lock.withLock {
            var bay = BayStatus(serial: serial, state: .identifying)
            bay.model = model
            bay.reason = reason
            if bays[serial] == nil { order.append(serial) }
            bays[serial] = bay
            retryAt[serial] = nil
            rates[serial] = RateWindow()
        }
    }

    func update(_ serial: String, _ change: (inout BayStatus) -> Void) {
        lock.withLock {
            guard var bay = bays[serial] else { return }
            change(&bay)
            bay.updatedAt = Date()
            bays[serial] = bay
        }
    }

    /// Files and bytes so far; the rate and ETA come from the last few seconds.
    func progress(_ serial: String, filesDone: Int, filesTotal: Int, bytesDone: Int64, bytesTotal: Int64) {
        lock.withLock {
            guard var bay = bays[serial] else { return }
            let now = Date()
            bay.state = filesTotal > 0 && filesDone >= filesTotal ? .verifying : .collecting
            bay.filesDone = filesDone
            bay.filesTotal = filesTotal
            bay.bytesDone = bytesDone
            bay.bytesTotal = bytesTotal
            var window = rates[serial] ?? RateWindow()
            window.add(bytes: bytesDone, at: now)
            rates[serial] = window
            bay.bytesPerSecond = window.bytesPerSecond
            bay.etaSeconds = window.bytesPerSecond.flatMap { $0 > 0 ? Double(bytesTotal - bytesDone) / $0 : nil }
            bay.updatedAt = now
            bays[serial] = bay
        }
    }

    func fail(_ serial: String, reason: String, nextStep: String?, retryAfter: TimeInterval? = nil) {
        lock.withLock {
            guard var bay = bays[serial] else { return }
            bay.state = .error
            bay.reason = reason
            bay.nextStep = nextStep
            bay.bytesPerSecond = nil
            bay.etaSeconds = nil
            bay.updatedAt = Date()
            bays[serial] = bay
            retryAt[serial] = retryAfter.map { Date().addingTimeInterval($0) }
        }
    }

    /// Asks that a docked camera go through its bay again at the next rescan (to free it).
    func requestPass(_ serial: String) { lock.withLock { retryAt[serial] = Date() } }

    func bay(_ serial: String) -> BayStatus? { lock.withLock { bays[serial] } }

    /// Whether an error tile's camera should be tried again now (a busy camera, a full disk).
    func retryDue(_ serial: String, now: Date = Date()) -> Bool {
        lock.withLock { retryAt[serial].map { now >= $0 } ?? false }
    }

    /// The camera was taken away: a finished tile goes, an error tile stays (marked undocked)
    /// so that whoever took it away still sees why it is not done.
    func undocked(_ serial: String) {
        lock.withLock {
            guard var bay = bays[serial] else { return }
            if bay.state == .done || bay.state == .freed {
                bays[serial] = nil
                order.removeAll { $0 == serial }
                rates[serial] = nil
            } else if bay.docked {
                bay.docked = false
                bay.updatedAt = Date()
                bays[serial] = bay
            }
            retryAt[serial] = nil
        }
    }

    var dockedSerials: [String] { lock.withLock { order.filter { bays[$0]?.docked == true } } }

    var anyCollecting: Bool {
        lock.withLock { bays.values.contains { $0.state == .identifying || $0.state == .collecting || $0.state == .verifying } }
    }

    func setSync(_ change: (inout SyncSnapshot) -> Void) { lock.withLock { change(&sync) } }
    var syncSnapshot: SyncSnapshot { lock.withLock { sync } }

    func setDiskFull(_ full: Bool) { lock.withLock { diskFull = full } }
    func setRoomWarning(_ warning: String?) { lock.withLock { roomWarning = warning } }
    func setSilentCameras(_ cameras: [SilentCamera], days: Int) { lock.withLock { silent = cameras; silentDays = days } }
    var isDiskFull: Bool { lock.withLock { diskFull } }

    public func snapshot() -> StationStatus {
        let disk = Self.disk(at: storeHome)
        return lock.withLock {
            var warnings: [String] = []
            var disk = disk
            disk.full = diskFull
            if diskFull {
                warnings.append("The store's disk is full: collection is paused for every bay until space is freed (nothing was half-written).")
            } else if disk.totalBytes > 0 && Double(disk.freeBytes) / Double(disk.totalBytes) < 0.1 {
                warnings.append("Less than 10% of the store's disk is free.")
            }
            if let roomWarning { warnings.append(roomWarning) }
            if sync.enrolled == false {
                warnings.append("Not enrolled with a server: evidence is kept here but not uploaded (`fieldgate enroll`).")
            } else if sync.serverReachable == false {
                warnings.append("The server cannot be reached: uploads wait and are retried; nothing is lost.")
            }
            if !silent.isEmpty {
                warnings.append("\(silent.count) registered camera(s) not docked for more than \(silentDays) day(s).")
            }
            if sync.waitingOverADay > 0 {
                warnings.append("\(sync.waitingOverADay) item(s) taken more than a day ago are not yet retained online.")
            }
            return StationStatus(version: version, bays: order.compactMap { bays[$0] }, silentCameras: silent, sync: sync, disk: disk,
                                 warnings: warnings, maxParallelBays: maxParallelBays, updatedAt: Date())
        }
    }

    static func disk(at url: URL) -> DiskSnapshot {
        var info = statvfs()
        guard statvfs(url.path, &info) == 0 else { return DiskSnapshot(path: url.path, freeBytes: 0, totalBytes: 0) }
        let unit = Int64(info.f_frsize)
        return DiskSnapshot(path: url.path, freeBytes: Int64(info.f_bavail) * unit, totalBytes: Int64(info.f_blocks) * unit)
    }
}

/// Bytes over the last few seconds, for a rate that follows the camera rather than the whole copy.
struct RateWindow {
    private var samples: [(date: Date, bytes: Int64)] = []

    mutating func add(bytes: Int64, at date: Date) {
        samples.append((date, bytes))
        samples.removeAll { date.timeIntervalSince($0.date) > 5 }
    }

    var bytesPerSecond: Double? {
        guard let first = samples.first, let last = samples.last, last.date.timeIntervalSince(first.date) > 0.2 else { return nil }
        return Double(last.bytes - first.bytes) / last.date.timeIntervalSince(first.date)
    }
}
