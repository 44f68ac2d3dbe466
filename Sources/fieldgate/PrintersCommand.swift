import ArgumentParser
import Console
import Devices
import Foundation
import Print
import Store
import USB

struct PrintersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "printers", abstract: "Register the printers that are not found on the USB bus (Bluetooth, /dev/usb/lpN).",
        discussion: """
            A Bluetooth printer is not on the USB bus: bind it with BlueZ (`sudo rfcomm bind 0 \
            AA:BB:CC:DD:EE:FF 1`), then register its character device here. A USB printer can be \
            registered by its serial number to give it a name; `fieldgate print --printer SERIAL` \
            also works without registering.
            """,
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a printer by name.")

        @Argument(help: "The name to print with (`fieldgate print --printer NAME`).") var name: String
        @Option(help: ArgumentHelp("Its character device: /dev/rfcommN (Bluetooth), /dev/usb/lpN.", valueName: "device"))
        var path: String?
        @Option(help: ArgumentHelp("Or: the serial number of a USB printer (see `fieldgate scan`).", valueName: "serial"))
        var usb: String?
        @Option(help: ArgumentHelp("The printer's model, as in a profile in devices/printers/ (sets the paper width).", valueName: "model"))
        var model: String?
        @Option(help: ArgumentHelp("Paper width in mm: 58 or 80 (default: the model's, else 58).", valueName: "mm"))
        var paper: PaperWidth?

        @OptionGroup var catalog: CatalogOptions
        @OptionGroup var store: StoreOptions

        func validate() throws {
            if (path == nil) == (usb == nil) { throw ValidationError("give either --path DEVICE or --usb SERIAL") }
            if let path, !path.hasPrefix("/") { throw ValidationError("--path must be an absolute device path, e.g. /dev/rfcomm0") }
            if name.isEmpty || name.contains(where: \.isWhitespace) { throw ValidationError("a printer's name cannot be empty or contain spaces") }
        }

        func run() throws {
            var width = paper?.rawValue
            if let model {
                let printers = catalog.load(reportErrors: false).profiles.filter { $0.kind == .printer }
                guard let profile = printers.first(where: { $0.model.caseInsensitiveCompare(model) == .orderedSame }) else {
                    throw CommandError("no printer profile has model \"\(model)\"; known models: \(printers.map(\.model).joined(separator: ", ")) (or leave --model out and give --paper)")
                }
                width = width ?? profile.paperWidthMillimetres
            }
            let evidence = try store.openStore()
            if try evidence.printer(named: name) != nil {
                throw CommandError("a printer named \(name) is registered already (`fieldgate printers remove \(name)` first)")
            }
            let printer = Printer(name: name, transport: path != nil ? .serial : .usb, path: path, usbSerial: usb, model: model,
                                  paperWidthMillimetres: width ?? 58)
            try evidence.add(printer)
            let present = path.map(SerialPrinter.isPresent) ?? true
            print("Registered printer \(name): \(path ?? "USB serial \(usb ?? "")"), \(printer.paperWidthMillimetres) mm paper"
                  + (present ? "." : " (\(path ?? "") is not there now: bind or plug the printer before printing)."))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered printers and whether each is there now.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var output: OutputOptions

        struct Row: Encodable {
            var name: String, transport: String, path: String?, usbSerial: String?, model: String?
            var paperWidthMillimetres: Int, state: String

            enum CodingKeys: String, CodingKey { case name, transport, path, usbSerial, model, paperWidthMillimetres, state }

            func encode(to encoder: Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(name, forKey: .name)
                try container.encode(transport, forKey: .transport)
                try container.encode(path, forKey: .path)
                try container.encode(usbSerial, forKey: .usbSerial)
                try container.encode(model, forKey: .model)
                try container.encode(paperWidthMillimetres, forKey: .paperWidthMillimetres)
                try container.encode(state, forKey: .state)
            }
        }

        func run() throws {
            let printers = try store.openStore().printers()
            let usbSerials: Set<String> = printers.contains { $0.transport == .usb }
                ? Set((try? USBPrinter.attached(context: try USBContext()))?.compactMap(\.serial) ?? []) : []
            let rows = printers.map { printer in
                let present = printer.transport == .serial ? SerialPrinter.isPresent(path: printer.path ?? "")
                    : usbSerials.contains(printer.usbSerial ?? "")
                return Row(name: printer.name, transport: printer.transport.rawValue, path: printer.path, usbSerial: printer.usbSerial,
                           model: printer.model, paperWidthMillimetres: printer.paperWidthMillimetres, state: present ? "present" : "absent")
            }
            if output.json { return print(try jsonString(rows)) }
            guard !rows.isEmpty else { return print("No printers registered (`fieldgate printers add NAME --path /dev/rfcomm0`).") }
            var table = TextTable("NAME", "TRANSPORT", "DEVICE", "MODEL", "PAPER", "STATE")
            for row in rows {
                table.add([row.name, row.transport, row.path ?? row.usbSerial, row.model, "\(row.paperWidthMillimetres) mm", row.state])
            }
            print(table.render())
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Forget a registered printer (its printouts stay in the store).")

        @Argument(help: "The printer's name.") var name: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            guard try store.openStore().removePrinter(named: name) else {
                throw CommandError("no printer named \(name) is registered (see `fieldgate printers list`)")
            }
            print("Removed printer \(name).")
        }
    }
}
