import Devices
import Drivers
import Foundation
import Store

/// The docking loop: each docked camera brought to its volume through its driver, then
/// collected. One camera's failure (wrong or missing password, unplugged, unmounted volume)
/// is that camera's result; the others go on.
public struct CameraCollection: Sendable {
    public let docking: Docking
    public let collector: Collector
    public let store: EvidenceStore

    public init(docking: Docking, collector: Collector, store: EvidenceStore) {
        self.docking = docking
        self.collector = collector
        self.store = store
    }

    /// Docks and collects one camera. `docked` is told what docking learnt before the copy starts.
    /// One process at a time collects a camera: another holder of its lock (the station, or a
    /// `collect` typed by hand) makes this `CollectError.cameraBusy`, so no file is copied twice.
    public func collect(_ camera: CameraFinder.DockedCamera, docked: (DockedCameraInfo) -> Void = { _ in },
                        progress: @escaping @Sendable (CollectProgress) -> Void = { _ in }) async throws -> CollectSummary {
        guard let lock = try store.tryLock(.camera(serial: camera.serial)) else {
            throw CollectError.cameraBusy(serial: camera.serial)
        }
        defer { lock.release() }
        let dockedAt = Date()
        let info = try await docking.prepare(camera)
        docked(info)
        // A camera that cannot be asked (already in storage mode, or a plain disk): its officer is
        // the one last read from it.
        let officer = try info.record?.officerNumber ?? store.camera(serial: camera.serial)?.officerNumber
        let context = CameraContext(serial: camera.serial, vendor: camera.match.vendor, model: camera.match.model,
                                    officerNumber: officer, clockDriftSeconds: info.clockDriftSeconds,
                                    timeZone: docking.config.timeZone, dockedAt: dockedAt)
        let collector = self.collector
        let root = info.volume ?? ""
        // Copying blocks a thread for as long as the camera takes to read: a thread of its own
        // (Dispatch's pool on Linux is as wide as the cores, so bays sharing it would copy two
        // at a time), and the tasks that serve the status page or sync are never starved.
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { () throws(CollectError) in
                    try collector.collect(root: root, camera: context, mayFree: true, progress: progress)
                })
            }
            thread.name = "fieldgate.bay.\(context.serial)"
            thread.start()
        }
    }

    /// Binds a known officer to a docked camera (its officer record rewritten; an `assigned`
    /// custody event). Returns the officer number it had before.
    public func assign(officer number: String, to serial: String) throws -> (officer: Officer, previous: String) {
        guard let officer = try store.officer(number: number) else { throw AssignmentError.unknownOfficer(number) }
        let camera = try docking.open(try docking.camera(serial: serial))
        var record = try camera.record()
        let previous = record.officerNumber
        record.officerNumber = officer.number
        record.officerName = officer.name
        if let unit = officer.unit { record.unitName = unit }
        try camera.write(record)
        try store.record(.assigned(officer: officer.number, previousOfficer: previous), camera: serial)
        return (officer, previous)
    }
}

public enum AssignmentError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownOfficer(String)

    public var description: String {
        switch self {
        case .unknownOfficer(let number):
            "officer \(number) is not known: import officers first (`fieldgate officers import FILE.csv`)"
        }
    }
}

/// Docking's custody events go into the store's chain, with the details they always had.
extension EvidenceStore: CameraEventRecorder {
    public func record(_ event: CameraEvent, camera serial: String) throws {
        switch event {
        case .clockDrift(let seconds, let allowed):
            try appendEvent(.clockDrift, camera: serial, details: ["driftSeconds": String(seconds), "allowedPerDaySeconds": String(allowed)])
        case .clockCorrected(let bySeconds):
            try appendEvent(.clockCorrected, camera: serial, details: ["correctedBySeconds": String(bySeconds), "to": "gateway UTC"])
        case .assigned(let officer, let previous):
            try appendEvent(.assigned, camera: serial, details: ["officer": officer, "previousOfficer": previous])
        }
    }
}
