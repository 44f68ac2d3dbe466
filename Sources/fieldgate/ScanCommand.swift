import ArgumentParser
import Devices
import Scan
import USB

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "List the cameras, fingerprint pads and printers attached now.",
        discussion: """
            Each catalogued device is opened to read its manufacturer, product and serial. A \
            device that cannot be opened is still listed, with state no-access and a hint. \
            Uncatalogued devices are left alone unless --all is given. Zero devices is not an error.
            """)

    @Flag(help: "Also list (and identify) devices the catalog does not know, as kind 'unknown'.")
    var all = false

    @OptionGroup var catalog: CatalogOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let scanner = DeviceScanner(context: try USBContext(), catalog: catalog.load())
        let devices = try scanner.scan(includeUnknown: all)
        if output.json {
            print(try jsonString(devices))
            return
        }
        guard !devices.isEmpty else {
            print(all ? "No USB devices found." : "No catalogued devices attached (use --all to list every USB device).")
            return
        }
        print(Self.table(devices))
    }

    static func table(_ devices: [ScannedDevice]) -> String {
        var table = TextTable("BUS:ADDR", "ID", "KIND", "VENDOR", "MODEL", "MODE", "SERIAL", "STATE")
        for device in devices {
            table.add([device.busAddress, device.ids, device.kind, device.vendor ?? device.manufacturer,
                       device.model ?? device.product, device.mode, device.serial, device.state.rawValue])
        }
        var text = table.render()
        for device in devices {
            if let hint = device.hint { text += "\n\(device.busAddress): \(hint)" }
        }
        return text
    }
}
