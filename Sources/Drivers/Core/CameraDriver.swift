import Devices
import Foundation

/// What a docked camera can be asked beyond handing over its storage.
public struct CameraCapabilities: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// A manufacturer and model code (GA/T 947: GET_ID_CODE).
    public static let identity = CameraCapabilities(rawValue: 1 << 0)
    /// An officer record that can be read and written (GA/T 947: ZFY_INFO).
    public static let officerRecord = CameraCapabilities(rawValue: 1 << 1)
    /// A clock that can be read and set.
    public static let clock = CameraCapabilities(rawValue: 1 << 2)
    /// A battery level.
    public static let battery = CameraCapabilities(rawValue: 1 << 3)
    /// It must be told to present its storage, and leaves the bus to come back as a disk.
    public static let storageSwitch = CameraCapabilities(rawValue: 1 << 4)
}

/// A docked camera opened by the driver of its family. Docking, `camera info` and
/// `camera assign` talk to cameras only through this protocol, asking only for what
/// `capabilities` lists; each family implements it in its own folder and is listed in
/// `CameraDrivers.all`. Reading the volume (and freeing files on it) is the same for every
/// family, since every camera presents its storage as a USB disk: see `VolumeLocator`.
public protocol CameraDriver: Sendable {
    /// The family this driver speaks, as profiles name it (`driver = "…"`).
    static var family: DriverFamily { get }
    /// Opens `camera`, authenticating with `password` where the family needs one.
    static func open(_ camera: CameraFinder.DockedCamera, password: String?) throws(CameraError) -> Self

    var serial: String { get }
    /// What this camera, in the mode it is docked in, can be asked.
    var capabilities: CameraCapabilities { get }

    func idCode() throws(CameraError) -> String
    func record() throws(CameraError) -> CameraRecord
    func write(_ record: CameraRecord) throws(CameraError)
    func clock() throws(CameraError) -> Date
    func setClock(_ date: Date) throws(CameraError)
    func battery() throws(CameraError) -> Int
    /// Asks the camera to present its storage; it leaves the bus and comes back as a disk.
    func switchToMassStorage() throws(CameraError)
}

/// A family implements what it can; anything else is a clear `unsupported` error.
extension CameraDriver {
    public func idCode() throws(CameraError) -> String { throw unsupported("report an id code") }
    public func record() throws(CameraError) -> CameraRecord { throw unsupported("report its officer record") }
    public func write(_ record: CameraRecord) throws(CameraError) { throw unsupported("be assigned an officer") }
    public func clock() throws(CameraError) -> Date { throw unsupported("report its clock") }
    public func setClock(_ date: Date) throws(CameraError) { throw unsupported("have its clock set") }
    public func battery() throws(CameraError) -> Int { throw unsupported("report its battery") }
    public func switchToMassStorage() throws(CameraError) { throw unsupported("be switched to mass storage") }

    func unsupported(_ what: String) -> CameraError { .unsupported(serial: serial, family: Self.family, what: what) }
}

/// Every camera driver, by family. A new family is one folder with its driver, one line here
/// and its case in `DriverFamily`, then profiles under devices/.
public enum CameraDrivers {
    public static let all: [any CameraDriver.Type] = [GAT947Driver.self, MassStorageDriver.self]

    public static func driver(for family: DriverFamily) -> (any CameraDriver.Type)? {
        all.first { $0.family == family }
    }

    /// Opens a docked camera with its family's driver.
    public static func open(_ camera: CameraFinder.DockedCamera, password: String?) throws(CameraError) -> any CameraDriver {
        guard let driver = driver(for: camera.match.driver) else {
            throw .unsupported(serial: camera.serial, family: camera.match.driver, what: "be docked as a camera")
        }
        return try driver.open(camera, password: password)
    }
}
