import ArgumentParser
import Collect
import Console
import Devices
import Drivers
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
            let docking = try makeCollection(store: store, catalog: catalog).docking
            let info = try docking.inspect(try docking.camera(serial: serial))
            if output.json { return print(try jsonString(info)) }
            print("Camera \(info.serial): \(info.vendor ?? "?") \(info.model ?? "?") (driver \(info.driver.rawValue))")
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
            let (known, previous) = try makeCollection(store: store, catalog: catalog).assign(officer: officer, to: serial)
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

private func makeCollection(store: StoreOptions, catalog: CatalogOptions) throws -> CameraCollection {
    let evidence = try store.openStore()
    let config = try store.loadConfig()
    let docking = Docking(finder: CameraFinder(context: try USBContext(), catalog: catalog.load()), config: config,
                          events: evidence, mountRoot: evidence.home.appendingPathComponent("mnt"))
    return CameraCollection(docking: docking, collector: Collector(store: evidence, freePolicy: config.freePolicy), store: evidence)
}
