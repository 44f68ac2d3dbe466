import Devices
import Foundation
import USB

/// What docking a camera found out before its files are read.
public struct DockedCameraInfo: Sendable, Codable {
    public var serial: String
    public var vendor: String?
    public var model: String?
    public var driver: DriverFamily
    public var idCode: String?
    public var record: CameraRecord?
    /// Camera clock minus gateway clock, seconds (positive: the camera is ahead).
    public var clockDriftSeconds: Double?
    public var clockCorrected = false
    public var battery: Int?
    public var volume: String?

    init(_ camera: CameraFinder.DockedCamera) {
        serial = camera.serial
        vendor = camera.match.vendor
        model = camera.match.model
        driver = camera.match.driver
    }
}

/// What docking does to a camera that belongs in its custody log.
public enum CameraEvent: Sendable, Equatable {
    /// The clock drift measured at docking, and the drift the standard allows per day.
    case clockDrift(seconds: Int, allowedPerDaySeconds: Int)
    /// The clock was set to the gateway's (UTC), moving it by this many seconds.
    case clockCorrected(bySeconds: Int)
    /// The camera's officer record was rewritten.
    case assigned(officer: String, previousOfficer: String)
}

/// Where docking reports custody events; the evidence store is one (see Collect).
public protocol CameraEventRecorder: Sendable {
    func record(_ event: CameraEvent, camera serial: String) throws
}

/// Takes a docked camera from whatever mode it is in to a mounted volume, through its
/// family's driver and only what the driver says it can do: the officer record, the clock
/// drift (recorded, and corrected when a second or more), then the switch to mass storage.
public struct Docking: Sendable {
    public let finder: CameraFinder
    public let config: GatewayConfig
    public let events: any CameraEventRecorder
    /// Where the gateway mounts volumes itself (as root).
    public let mountRoot: URL

    public init(finder: CameraFinder, config: GatewayConfig, events: any CameraEventRecorder, mountRoot: URL) {
        self.finder = finder
        self.config = config
        self.events = events
        self.mountRoot = mountRoot
    }

    /// The docked camera `serial`, or `CameraError.notFound`.
    public func camera(serial: String) throws -> CameraFinder.DockedCamera {
        guard let docked = try finder.dockedCameras().first(where: { $0.serial == serial }) else {
            throw CameraError.notFound(serial: serial)
        }
        return docked
    }

    /// Opens a camera with its family's driver and the configured password.
    public func open(_ docked: CameraFinder.DockedCamera) throws(CameraError) -> any CameraDriver {
        try CameraDrivers.open(docked, password: config.password(serial: docked.serial, profile: docked.match.profile))
    }

    /// Reads what the camera says about itself, without changing it.
    public func inspect(_ docked: CameraFinder.DockedCamera) throws -> DockedCameraInfo {
        try BusConversation.run { try inspectNow(docked) }
    }

    private func inspectNow(_ docked: CameraFinder.DockedCamera) throws -> DockedCameraInfo {
        var info = DockedCameraInfo(docked)
        let camera = try open(docked)
        try read(camera, into: &info)
        if camera.capabilities.contains(.clock) { info.clockDriftSeconds = try measureDrift(camera) }
        return info
    }

    /// Brings the camera to a mounted volume and returns what was learnt on the way, with the
    /// volume's mount point in `volume`.
    public func prepare(_ docked: CameraFinder.DockedCamera) async throws -> DockedCameraInfo {
        var info = DockedCameraInfo(docked)
        var storage = docked
        // The driver's session ends here, before the switch re-enumerates the camera.
        let deadline = Date().addingTimeInterval(config.storageTimeoutSeconds)
        let switched = try BusConversation.run { try runControlMode(docked, info: &info) }
        if switched {
            storage = try await finder.waitFor(serial: docked.serial, mode: .storage, timeout: config.storageTimeoutSeconds)
        }
        let volume = try await locateVolume(serial: docked.serial, device: storage.device, until: deadline)
        info.volume = volume.mountPoint
        return info
    }

    /// The camera's mounted volume. The disk appears a moment after the USB device (usb-storage
    /// and the SCSI layer probe it first), so a missing disk is waited for, up to `deadline`.
    private func locateVolume(serial: String, device: USBDevice, until deadline: Date) async throws -> MountedVolume {
        while true {
            let found: Result<MountedVolume, VolumeError>
            do {
                found = .success(try VolumeLocator.locate(serial: serial, device: device, mountRoot: getuid() == 0 ? mountRoot : nil))
            } catch {
                found = .failure(error)
            }
            switch found {
            case .success(let volume):
                return volume
            case .failure(.noBlockDevice) where Date() < deadline:
                try await Task.sleep(for: .milliseconds(100))
            case .failure(let error):
                throw error
            }
        }
    }

    /// Everything asked of the camera before its storage: true when it was told to switch.
    private func runControlMode(_ docked: CameraFinder.DockedCamera, info: inout DockedCameraInfo) throws -> Bool {
        let camera = try open(docked)
        try read(camera, into: &info)
        if camera.capabilities.contains(.clock) {
            let drift = try measureDrift(camera)
            info.clockDriftSeconds = drift
            try events.record(.clockDrift(seconds: Int(drift), allowedPerDaySeconds: 3), camera: docked.serial)
            if abs(drift) >= 1 {
                try camera.setClock(Date())
                info.clockCorrected = true
                try events.record(.clockCorrected(bySeconds: Int(-drift)), camera: docked.serial)
            }
        }
        guard camera.capabilities.contains(.storageSwitch) else { return false }
        try camera.switchToMassStorage()
        return true
    }

    private func read(_ camera: any CameraDriver, into info: inout DockedCameraInfo) throws {
        if camera.capabilities.contains(.identity) { info.idCode = try camera.idCode() }
        if camera.capabilities.contains(.officerRecord) { info.record = try camera.record() }
        if camera.capabilities.contains(.battery) { info.battery = try? camera.battery() }
    }

    /// Camera clock minus gateway clock: of three readings, the one with the shortest round
    /// trip, taken at its midpoint.
    private func measureDrift(_ camera: any CameraDriver) throws -> Double {
        var best: (roundTrip: TimeInterval, drift: Double)?
        for _ in 0..<3 {
            let before = Date()
            let cameraClock = try camera.clock()
            let after = Date()
            let gatewayClock = before.addingTimeInterval(after.timeIntervalSince(before) / 2)
            // The camera answers in whole seconds, cut down: on average its clock is half a second later.
            let drift = cameraClock.addingTimeInterval(0.5).timeIntervalSince(gatewayClock)
            if best == nil || after.timeIntervalSince(before) < best!.roundTrip { best = (after.timeIntervalSince(before), drift) }
        }
        return best!.drift.rounded()
    }
}
