import Devices
import Foundation
import USB

/// The GA/T 947 family (devices/gat947/README.md). In control mode the camera is authenticated
/// and answers for its record, clock and battery, then is switched to mass storage; docked in
/// storage mode (after an earlier collect) it is a disk and can be asked nothing.
public struct GAT947Driver: CameraDriver {
    public static let family = DriverFamily.gat947
    public let serial: String
    /// The authenticated control-mode session; nil when the camera is docked in storage mode.
    let session: GAT947Camera?

    public static func open(_ camera: CameraFinder.DockedCamera, password: String?) throws(CameraError) -> GAT947Driver {
        guard camera.match.mode == .control else { return GAT947Driver(serial: camera.serial, session: nil) }
        guard let password else { throw .noPassword(serial: camera.serial, model: camera.match.model) }
        let handle: USBDeviceHandle
        do {
            handle = try camera.device.open()
        } catch {
            throw .usb(serial: camera.serial, error)
        }
        let session = GAT947Camera(handle: handle, serial: camera.serial)
        try session.authenticate(password: password)
        return GAT947Driver(serial: camera.serial, session: session)
    }

    public var capabilities: CameraCapabilities {
        session == nil ? [] : [.identity, .officerRecord, .clock, .battery, .storageSwitch]
    }

    private func control(_ what: String) throws(CameraError) -> GAT947Camera {
        guard let session else { throw unsupported("\(what) while in mass-storage mode (re-dock it to reach control mode)") }
        return session
    }

    public func idCode() throws(CameraError) -> String { try control("report an id code").idCode() }
    public func record() throws(CameraError) -> CameraRecord { try control("report its officer record").record() }
    public func write(_ record: CameraRecord) throws(CameraError) { try control("be assigned an officer").write(record) }
    public func clock() throws(CameraError) -> Date { try control("report its clock").clock() }
    public func setClock(_ date: Date) throws(CameraError) { try control("have its clock set").setClock(date) }
    public func battery() throws(CameraError) -> Int { try control("report its battery").battery() }
    public func switchToMassStorage() throws(CameraError) { try control("be switched to mass storage").switchToMassStorage() }
}
