import Devices
import Print
import Store
import USB

/// A printer to send a job to, and the paper it takes.
public struct ResolvedPrinter: Sendable {
    public var transport: any PrinterTransport
    public var paper: PaperWidth
    public var name: String { transport.name }

    public init(transport: any PrinterTransport, paper: PaperWidth) {
        self.transport = transport
        self.paper = paper
    }
}

/// Finds the printer a job names: a registered one (serial device or USB serial), else a USB
/// printer attached now named by its serial, its paper from the catalog's profile.
public struct PrinterResolver: Sendable {
    public let store: EvidenceStore
    public let catalog: DeviceCatalog

    public init(store: EvidenceStore, catalog: DeviceCatalog) {
        self.store = store
        self.catalog = catalog
    }

    public func resolve(_ name: String) throws -> ResolvedPrinter {
        if let registered = try store.printer(named: name) {
            let paper = PaperWidth(rawValue: registered.paperWidthMillimetres) ?? .mm58
            switch registered.transport {
            case .serial:
                return ResolvedPrinter(transport: SerialPrinter(name: name, path: registered.path ?? ""), paper: paper)
            case .usb:
                let serial = registered.usbSerial ?? ""
                guard let found = try USBPrinter.attached(context: try USBContext()).first(where: { $0.serial == serial }) else {
                    throw PrintError.absent(name, "no USB printer with serial \(serial) is attached (see `fieldgate scan`)")
                }
                return ResolvedPrinter(transport: USBPrinter(name: name, device: found.device), paper: paper)
            }
        }
        let attached = try USBPrinter.attached(context: try USBContext())
        guard let found = attached.first(where: { $0.serial == name }) else {
            throw PaperworkError.noSuchPrinter(name: name, attachedUSBSerials: attached.compactMap(\.serial))
        }
        var paper = PaperWidth.mm58
        if let descriptor = found.device.descriptor,
           let match = catalog.match(vendorId: descriptor.vendorId, productId: descriptor.productId,
                                     interfaceClasses: found.device.interfaceClasses),
           let width = match.profile?.paperWidthMillimetres.flatMap(PaperWidth.init) {
            paper = width
        }
        return ResolvedPrinter(transport: USBPrinter(name: name, device: found.device), paper: paper)
    }
}
