import ArgumentParser
import Console
import Devices
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Show and check the device catalog (the profiles in devices/).",
        subcommands: [List.self, Check.self, UdevRule.self],
        defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the device profiles in load order.")

        @OptionGroup var catalog: CatalogOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let loaded = catalog.load()
            if output.json {
                let entries = loaded.profiles.map { ProfileEntry($0, overriddenBy: loaded.overridingProfile(of: $0)) }
                print(try jsonString(entries))
                return
            }
            print("Folders: " + (loaded.folders.isEmpty ? "(none)" : loaded.folders.joined(separator: ", ")))
            var table = TextTable("KIND", "VENDOR", "MODEL", "DRIVER", "USB IDS", "FILE")
            for profile in loaded.profiles {
                var file = profile.path
                if let newer = loaded.overridingProfile(of: profile) {
                    file += " (overridden by \(newer.path))"
                }
                let ids = profile.usb.map { "\(USBIdFormat.pair($0.vendorId, $0.productId)) \($0.mode.rawValue)" }
                table.add([profile.kind.rawValue, profile.vendor, profile.model + (profile.example ? " (example)" : ""),
                           profile.driver.rawValue, ids.isEmpty ? "none (not on USB)" : ids.joined(separator: ", "), file])
            }
            print(table.render())
            if !loaded.errors.isEmpty { print("\(loaded.errors.count) profile(s) have errors: run `fieldgate devices check`.") }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate every profile; exit non-zero if any has an error.",
            discussion: "Each error names the file and the key, e.g. `usb[1].vendor_id`.")

        @OptionGroup var catalog: CatalogOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let loaded = catalog.load(reportErrors: false)
            if output.json {
                struct Report: Encodable {
                    var folders: [String]
                    var profiles: Int
                    var errors: [CatalogError]
                }
                print(try jsonString(Report(folders: loaded.folders, profiles: loaded.profiles.count, errors: loaded.errors)))
            } else {
                for error in loaded.errors { print("error: \(error)") }
                print("\(loaded.profiles.count) profile(s) valid, \(loaded.errors.count) error(s), in \(loaded.folders.count) folder(s).")
            }
            if !loaded.errors.isEmpty { throw ExitCode.failure }
        }
    }

    struct UdevRule: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "udev-rule",
            abstract: "Print the udev rule that gives the group fieldgate access to every catalogued USB device.",
            discussion: """
                One line per USB id of the catalog (installed, $FIELDGATE_DEVICES, --devices), in load \
                order. After adding a model: fieldgate devices udev-rule > devices/udev/70-fieldgate.rules
                """)

        @OptionGroup var catalog: CatalogOptions

        func run() throws {
            let loaded = catalog.load()
            print(UdevRules.render(loaded.effectiveProfiles), terminator: "")
        }
    }
}

extension CatalogError: Encodable {
    enum CodingKeys: String, CodingKey { case file, key, message }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(key, forKey: .key)
        try container.encode(message, forKey: .message)
    }
}

/// A profile as `devices list --json` prints it.
struct ProfileEntry: Encodable {
    var profile: DeviceProfile
    var overriddenBy: String?

    init(_ profile: DeviceProfile, overriddenBy: DeviceProfile?) {
        self.profile = profile
        self.overriddenBy = overriddenBy?.path
    }

    enum CodingKeys: String, CodingKey { case kind, vendor, model, driver, example, usb, path, overriddenBy }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(profile.kind, forKey: .kind)
        try container.encode(profile.vendor, forKey: .vendor)
        try container.encode(profile.model, forKey: .model)
        try container.encode(profile.driver, forKey: .driver)
        try container.encode(profile.example, forKey: .example)
        try container.encode(profile.usb.map { ["vendorId": USBIdFormat.id($0.vendorId), "productId": USBIdFormat.id($0.productId), "mode": $0.mode.rawValue] }, forKey: .usb)
        try container.encode(profile.path, forKey: .path)
        try container.encode(overriddenBy, forKey: .overriddenBy)
    }
}
