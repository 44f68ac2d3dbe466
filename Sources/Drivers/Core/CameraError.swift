import Devices
import Foundation
import USB

/// The officer record a camera carries (GA/T 947: ZFY_INFO): who the camera is bound to.
public struct CameraRecord: Sendable, Equatable, Codable {
    public var serial: String
    public var officerNumber: String
    public var officerName: String
    public var unitNumber: String
    public var unitName: String

    public init(serial: String, officerNumber: String, officerName: String, unitNumber: String, unitName: String) {
        self.serial = serial
        self.officerNumber = officerNumber
        self.officerName = officerName
        self.unitNumber = unitNumber
        self.unitName = unitName
    }
}

/// A camera's answer that the gateway cannot use, or a refusal, named by camera and request.
public enum CameraError: Error, Sendable, Equatable, CustomStringConvertible {
    case wrongPassword(serial: String)
    case refused(serial: String, request: String)
    case malformed(serial: String, field: String, reason: String)
    case storageModeTimeout(serial: String, seconds: Double)
    case notFound(serial: String)
    case usb(serial: String, USBError)
    case noPassword(serial: String, model: String?)
    case unsupported(serial: String, family: DriverFamily, what: String)

    public var description: String {
        switch self {
        case .wrongPassword(let serial):
            "camera \(serial) refused the password: set the right one in the config file (passwords.serials.\"\(serial)\"); the camera was left untouched"
        case .refused(let serial, let request): "camera \(serial) refused \(request)"
        case .malformed(let serial, let field, let reason): "camera \(serial) sent a malformed \(field): \(reason)"
        case .storageModeTimeout(let serial, let seconds):
            "camera \(serial) did not come back in mass-storage mode within \(Int(seconds)) s: re-dock it, or raise storage_timeout_seconds in the config file"
        case .notFound(let serial): "no docked camera with serial \(serial) (see `fieldgate scan`)"
        case .usb(let serial, let error): "camera \(serial): \(error)"
        case .noPassword(let serial, let model):
            "no password for camera \(serial)\(model.map { " (\($0))" } ?? ""): add it to the config file under [passwords.serials] \"\(serial)\" = \"...\""
        case .unsupported(let serial, let family, let what):
            "camera \(serial) cannot \(what): its driver family \(family.rawValue) (devices/\(family.rawValue)/README.md) has no such function"
        }
    }
}
