import Devices
import Foundation

/// The usb-mass-storage family (devices/usb-mass-storage/README.md): a camera that docks as a
/// plain USB disk. It can be asked nothing; its volume is read as it is, its officer is the one
/// the gateway last knew for its serial, and its clock drift cannot be measured.
public struct MassStorageDriver: CameraDriver {
    public static let family = DriverFamily.usbMassStorage
    public let serial: String

    public static func open(_ camera: CameraFinder.DockedCamera, password: String?) throws(CameraError) -> MassStorageDriver {
        MassStorageDriver(serial: camera.serial)
    }

    public var capabilities: CameraCapabilities { [] }
}
