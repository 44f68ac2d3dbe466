import Foundation
import TestSupport
import XCTest

/// The field binary as it is installed: no test or server code inside, and its data found at
/// run time (installed folder, else the checkout), never through paths of the build.
final class FieldBinaryTests: XCTestCase {
    func testTheFieldBinaryLinksNeitherUmockdevNorTheServer() throws {
        let binary = builtBinary("fieldgate")
        // umockdev-wrapper preloads its library into every process: ldd would list it for any binary.
        let ldd = try runProgram("/usr/bin/ldd", [binary.path], environment: ["LD_PRELOAD": ""])
        XCTAssertEqual(ldd.status, 0, ldd.stderr)
        XCTAssertTrue(ldd.stdout.contains("libusb-1.0"), "fieldgate drives USB through libusb: \(ldd.stdout)")
        XCTAssertFalse(ldd.stdout.contains("libumockdev"), ldd.stdout)
        let image = try Data(contentsOf: binary)
        // Swift symbols carry their module's name: a linked module leaves it in the image.
        for module in ["USBEmulation", "Hummingbird", "HummingbirdTLS", "Prometheus"] {
            XCTAssertNil(image.range(of: Data(module.utf8)), "fieldgate carries \(module)")
        }
        let lab = try Data(contentsOf: builtBinary("fieldgate-lab"))
        XCTAssertNotNil(lab.range(of: Data("USBEmulation".utf8)), "the check above would see an emulation module that is linked")
    }

    func testTheLabRunsTheDemoAndEmulationAndTheFieldBinaryDoesNot() throws {
        let help = try runFieldgate(["--help"])
        XCTAssertEqual(help.status, 0)
        for group in ["Evidence", "Devices", "Paperwork", "Server link", "Diagnostics"] {
            XCTAssertTrue(help.stdout.contains(group.uppercased() + " SUBCOMMANDS") || help.stdout.contains(group), help.stdout)
        }
        let demo = try runFieldgate(["demo"])
        XCTAssertNotEqual(demo.status, 0)
        XCTAssertTrue(demo.stderr.contains("Unexpected argument 'demo'"), demo.stderr)
        let labHelp = try runFieldgateLab(["--help"])
        XCTAssertEqual(labHelp.status, 0)
        XCTAssertTrue(labHelp.stdout.contains("demo") && labHelp.stdout.contains("emulate"), labHelp.stdout)
    }

    func testTheCatalogIsFoundFromTheCheckoutTheCommandRunsIn() throws {
        let inSubfolder = try runFieldgate(["devices", "list", "--json"], environment: ["FIELDGATE_DEVICES": ""],
                                           workingDirectory: repositoryRoot.appendingPathComponent("Tests"))
        XCTAssertEqual(inSubfolder.status, 0, inSubfolder.stderr)
        let paths = try profilePaths(inSubfolder.stdout)
        XCTAssertFalse(paths.isEmpty)
        XCTAssertTrue(paths.allSatisfy { $0.hasPrefix(repositoryRoot.appendingPathComponent("devices").path) }, "\(paths)")

        let outside = try runFieldgate(["devices", "check"], environment: ["FIELDGATE_DEVICES": ""],
                                       workingDirectory: try temporaryFolder(self))
        XCTAssertEqual(outside.status, 0, outside.stderr)
        if FileManager.default.fileExists(atPath: "/usr/share/fieldgate/devices") {
            // A fieldgate package is installed here: outside a checkout its catalog is the one read.
            XCTAssertTrue(outside.stdout.contains("in 1 folder(s)."), outside.stdout)
        } else {
            XCTAssertTrue(outside.stdout.contains("0 profile(s) valid, 0 error(s), in 0 folder(s)."), outside.stdout)
        }
    }

    func testAnInstalledBinaryReadsTheCatalogOfItsOwnPrefix() throws {
        let prefix = try temporaryFolder(self).appendingPathComponent("prefix")
        let bin = prefix.appendingPathComponent("bin"), devices = prefix.appendingPathComponent("share/fieldgate/devices/printers")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: devices, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: builtBinary("fieldgate"), to: bin.appendingPathComponent("fieldgate"))
        try """
            kind = "printer"
            vendor = "Acme"
            model = "Only One"
            driver = "escpos-usb"
            [[usb]]
            vendor_id = 0x1209
            product_id = 0x7777
            mode = "printer"
            """.write(to: devices.appendingPathComponent("only-one.toml"), atomically: true, encoding: .utf8)
        let result = try runProgram(bin.appendingPathComponent("fieldgate").path, ["devices", "list", "--json"],
                                    environment: ["FIELDGATE_DEVICES": ""], workingDirectory: try temporaryFolder(self))
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try profilePaths(result.stdout), [devices.appendingPathComponent("only-one.toml").path])
    }

    func testTheShippedUdevRuleIsTheOneTheCatalogGenerates() throws {
        let generated = try runFieldgate(["devices", "udev-rule"], environment: ["FIELDGATE_DEVICES": ""],
                                         workingDirectory: repositoryRoot)
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let shipped = try String(contentsOf: repositoryRoot.appendingPathComponent("devices/udev/70-fieldgate.rules"), encoding: .utf8)
        XCTAssertEqual(generated.stdout, shipped, "run `fieldgate devices udev-rule > devices/udev/70-fieldgate.rules`")
        XCTAssertTrue(shipped.contains("ATTR{idVendor}==\"04b8\", ATTR{idProduct}==\"0e03\""), "the Epson TM-T20's ids are in the rule")

        // A model added as data reaches the rule without code.
        let extra = try temporaryFolder(self)
        try """
            kind = "body-camera"
            vendor = "Acme"
            model = "C9"
            driver = "usb-mass-storage"
            [[usb]]
            vendor_id = 0x1209
            product_id = 0x7a7a
            mode = "storage"
            """.write(to: extra.appendingPathComponent("acme-c9.toml"), atomically: true, encoding: .utf8)
        let withExtra = try runFieldgate(["devices", "udev-rule", "--devices", extra.path], workingDirectory: repositoryRoot)
        XCTAssertTrue(withExtra.stdout.contains("# Acme C9, body-camera (usb-mass-storage)\nSUBSYSTEM==\"usb\", ENV{DEVTYPE}==\"usb_device\", ATTR{idVendor}==\"1209\", ATTR{idProduct}==\"7a7a\""),
                      withExtra.stdout)
    }

    private func profilePaths(_ json: String) throws -> [String] {
        let entries = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
        return entries.compactMap { $0["path"] as? String }
    }
}
