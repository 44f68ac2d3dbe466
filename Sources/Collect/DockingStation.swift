import Devices
import Drive
import Foundation
import Store
import USB

/// What docking a camera found out before its files are read.
public struct DockedCameraInfo: Sendable, Codable {
    public var serial: String
    public var vendor: String?
    public var model: String?
    public var driver: String
    public var idCode: String?
    public var record: CameraRecord?
    /// Camera clock minus gateway clock, seconds (positive: the camera is ahead).
    public var clockDriftSeconds: Double?
    public var clockCorrected = false
    public var battery: Int?
    public var volume: String?
}

/// Drive: takes a docked camera from control mode to a mounted volume, recording the clock
/// drift (and its correction) as custody events on the way.
public struct DockingStation: Sendable {
    public let finder: CameraFinder
    public let config: GatewayConfig
    public let store: EvidenceStore
    /// Where the gateway mounts volumes itself (as root).
    public let mountRoot: URL

    public init(finder: CameraFinder, config: GatewayConfig, store: EvidenceStore, mountRoot: URL) {
        self.finder = finder
        self.config = config
        self.store = store
        self.mountRoot = mountRoot
    }

    /// Opens a control-mode camera and authenticates with its configured password.
    public func connect(_ docked: CameraFinder.DockedCamera) throws -> GAT947Camera {
        guard let password = config.password(serial: docked.serial, profile: docked.match.profile) else {
            throw DockingError.noPassword(serial: docked.serial, model: docked.match.model)
        }
        let handle: USBDeviceHandle
        do {
            handle = try docked.device.open()
        } catch {
            throw CameraError.usb(serial: docked.serial, error)
        }
        let camera = GAT947Camera(handle: handle, serial: docked.serial)
        try camera.authenticate(password: password)
        return camera
    }

    /// Reads what the camera says about itself, without changing it.
    public func inspect(_ docked: CameraFinder.DockedCamera) throws -> DockedCameraInfo {
        var info = DockedCameraInfo(serial: docked.serial, vendor: docked.match.vendor, model: docked.match.model,
                                    driver: docked.match.driver.rawValue)
        guard docked.match.driver == .gat947, docked.match.mode == .control else { return info }
        let camera = try connect(docked)
        info.idCode = try camera.idCode()
        info.record = try camera.record()
        info.clockDriftSeconds = try measureDrift(camera)
        info.battery = try camera.battery()
        return info
    }

    /// Camera clock minus gateway clock: of three readings, the one with the shortest round
    /// trip, taken at its midpoint.
    private func measureDrift(_ camera: GAT947Camera) throws -> Double {
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

    /// Brings the camera to a mounted volume: for a GA/T 947 camera in control mode, reads its
    /// record, records and corrects its clock drift, then switches it to mass storage.
    public func prepare(_ docked: CameraFinder.DockedCamera) async throws -> (CameraContext, DockedCameraInfo, String) {
        var info = DockedCameraInfo(serial: docked.serial, vendor: docked.match.vendor, model: docked.match.model,
                                    driver: docked.match.driver.rawValue)
        var storage = docked
        if docked.match.driver == .gat947 && docked.match.mode == .control {
            try runControlMode(docked, info: &info)
            storage = try await finder.waitFor(serial: docked.serial, mode: .storage, timeout: config.storageTimeoutSeconds)
        }
        let volume = try VolumeLocator.locate(serial: docked.serial, device: storage.device,
                                              mountRoot: getuid() == 0 ? mountRoot : nil)
        info.volume = volume.mountPoint
        // A camera already in storage mode cannot be asked: its officer is the one last read from it.
        let officer = try info.record?.officerNumber ?? store.camera(serial: docked.serial)?.officerNumber
        let context = CameraContext(serial: docked.serial, vendor: docked.match.vendor, model: docked.match.model,
                                    officerNumber: officer, clockDriftSeconds: info.clockDriftSeconds,
                                    timeZone: config.timeZone)
        return (context, info, volume.mountPoint)
    }

    /// The control-mode half of docking. The camera's handle is closed when this returns,
    /// right after SET_MSDC: that device is leaving the bus.
    private func runControlMode(_ docked: CameraFinder.DockedCamera, info: inout DockedCameraInfo) throws {
        let camera = try connect(docked)
        info.idCode = try camera.idCode()
        info.record = try camera.record()
        let drift = try measureDrift(camera)
        info.clockDriftSeconds = drift
        try store.appendEvent(.clockDrift, camera: docked.serial,
                              details: ["driftSeconds": String(Int(drift)), "allowedPerDaySeconds": "3"])
        if abs(drift) >= 1 {
            try camera.setClock(Date())
            info.clockCorrected = true
            try store.appendEvent(.clockCorrected, camera: docked.serial,
                                  details: ["correctedBySeconds": String(Int(-drift)), "to": "gateway UTC"])
        }
        info.battery = try? camera.battery()
        try camera.switchToMassStorage()
    }
}

public enum DockingError: Error, Sendable, CustomStringConvertible {
    case noPassword(serial: String, model: String?)

    public var description: String {
        switch self {
        case .noPassword(let serial, let model):
            "no password for camera \(serial)\(model.map { " (\($0))" } ?? ""): add it to the config file under [passwords.serials] \"\(serial)\" = \"...\""
        }
    }
}
