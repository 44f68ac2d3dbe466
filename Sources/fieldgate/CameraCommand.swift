import ArgumentParser
import Collect
import Console
import Devices
import Drive
import Foundation
import Store
import USB

struct CameraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera", abstract: "Inspect, assign and register body cameras.",
        subcommands: [Info.self, Assign.self, Register.self])

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a docked camera's officer record, clock drift and battery (changes nothing).")

        @Argument(help: "The camera's serial (see `fieldgate scan`).") var serial: String
        @OptionGroup var store: StoreOptions
        @OptionGroup var catalog: CatalogOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let station = try makeStation(store: store, catalog: catalog)
            let info = try station.inspect(try findCamera(serial, station.finder))
            if output.json { return print(try jsonString(info)) }
            print("Camera \(info.serial): \(info.vendor ?? "?") \(info.model ?? "?") (driver \(info.driver))")
            if let idCode = info.idCode { print("ID code:     \(idCode)") }
            if let record = info.record {
                print("Officer:     \(record.officerNumber) \(record.officerName)")
                print("Unit:        \(record.unitNumber) \(record.unitName)")
            }
            if let drift = info.clockDriftSeconds {
                print("Clock drift: \(Int(drift)) s (\(drift > 0 ? "ahead of" : drift < 0 ? "behind" : "same as") this gateway; the standard allows 3 s a day)")
            }
            if let battery = info.battery { print("Battery:     \(battery)%") }
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind an officer to a docked camera (writes the camera's ZFY_INFO record).",
            discussion: "The officer must be known (`fieldgate officers import`); the assignment is a custody event.")

        @Argument(help: "The camera's serial.") var serial: String
        @Option(help: "The officer number (6 digits).") var officer: String
        @OptionGroup var store: StoreOptions
        @OptionGroup var catalog: CatalogOptions

        func run() throws {
            let station = try makeStation(store: store, catalog: catalog)
            guard let known = try station.store.officer(number: officer) else {
                throw ValidationError("officer \(officer) is not known: import officers first (`fieldgate officers import FILE.csv`)")
            }
            let docked = try findCamera(serial, station.finder)
            guard docked.match.driver == .gat947, docked.match.mode == .control else {
                throw ValidationError("camera \(serial) cannot be assigned: it is not a GA/T 947 camera in control mode")
            }
            let camera = try station.connect(docked)
            var record = try camera.record()
            let previous = record.officerNumber
            record.officerNumber = known.number
            record.officerName = known.name
            if let unit = known.unit { record.unitName = unit }
            try camera.write(record)
            try station.store.appendEvent(.assigned, camera: serial, details: ["officer": known.number, "previousOfficer": previous])
            print("Camera \(serial) is now assigned to \(known.number) \(known.name) (was \(previous)).")
        }
    }

    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a camera as one of the unit's own: its recordings are no longer flagged unregistered.")

        @Argument(help: "The camera's serial.") var serial: String
        @Option(help: "The camera's model, if it is not docked now.") var model: String?
        @OptionGroup var store: StoreOptions

        func run() throws {
            let camera = try store.openStore().registerCamera(serial: serial, vendor: nil, model: model)
            print("Camera \(camera.serial) is registered.")
        }
    }
}

private func makeStation(store: StoreOptions, catalog: CatalogOptions) throws -> DockingStation {
    let evidence = try store.openStore()
    return DockingStation(finder: CameraFinder(context: try USBContext(), catalog: catalog.load()), config: try store.loadConfig(),
                          store: evidence, mountRoot: evidence.home.appendingPathComponent("mnt"))
}

private func findCamera(_ serial: String, _ finder: CameraFinder) throws -> CameraFinder.DockedCamera {
    guard let docked = try finder.dockedCameras().first(where: { $0.serial == serial }) else {
        throw CameraError.notFound(serial: serial)
    }
    return docked
}
