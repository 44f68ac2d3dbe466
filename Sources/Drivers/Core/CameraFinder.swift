import Devices
import Foundation
import USB

/// Finds docked cameras on the bus by serial, through the catalog.
public struct CameraFinder: Sendable {
    public let context: USBContext
    public let catalog: DeviceCatalog

    public init(context: USBContext, catalog: DeviceCatalog) {
        self.context = context
        self.catalog = catalog
    }

    /// A docked body camera: its USB device, what the catalog says, and its serial.
    public struct DockedCamera: Sendable {
        public let device: USBDevice
        public let match: CatalogMatch
        public let serial: String
    }

    /// Every body camera on the bus now whose serial could be read.
    public func dockedCameras() throws(USBError) -> [DockedCamera] {
        try BusConversation.run { () throws(USBError) in try identifyCameras() }
    }

    private func identifyCameras() throws(USBError) -> [DockedCamera] {
        try context.devices().compactMap { device in
            guard let descriptor = device.descriptor,
                  let match = catalog.match(vendorId: descriptor.vendorId, productId: descriptor.productId,
                                            deviceClass: descriptor.deviceClass, interfaceClasses: device.interfaceClasses),
                  match.kind == .bodyCamera,
                  let handle = try? device.open(),
                  let serial = try? handle.string(at: descriptor.serialNumberIndex) else { return nil }
            return DockedCamera(device: device, match: match, serial: serial)
        }
    }

    /// Waits (polling, bounded) for the camera `serial` to appear in `mode`, as it does after SET_MSDC.
    public func waitFor(serial: String, mode: USBMode, timeout: TimeInterval) async throws -> DockedCamera {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let camera = try dockedCameras().first(where: { $0.serial == serial && $0.match.mode == mode }) {
                return camera
            }
            try await Task.sleep(for: .milliseconds(100))
        } while Date() < deadline
        throw CameraError.storageModeTimeout(serial: serial, seconds: timeout)
    }
}
