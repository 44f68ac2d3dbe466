import Devices
import XCTest

final class DeviceCatalogTests: XCTestCase {
    private var shippedCatalog: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("devices") }

    private func folder(_ files: [String: String]) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        for (name, text) in files {
            let file = url.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    private let camera = """
        kind = "body-camera"
        vendor = "Acme"
        model = "Cam 1"
        driver = "gat947"
        password = "123456"
        [[usb]]
        vendor_id = 0x1209
        product_id = 0x0001
        mode = "control"
        [[usb]]
        vendor_id = 0x1209
        product_id = 0x0002
        mode = "storage"
        """

    func testShippedCatalogIsValidAndCoversEveryKind() {
        let catalog = DeviceCatalog.load(folders: [shippedCatalog.path])
        XCTAssertEqual(catalog.errors, [], "every shipped profile must load")
        let kinds = Set(catalog.profiles.map(\.kind))
        XCTAssertEqual(kinds, Set(DeviceKind.allCases))
        XCTAssertGreaterThanOrEqual(catalog.profiles.filter { $0.kind == .bodyCamera }.count, 2)
        XCTAssertTrue(catalog.profiles.contains { $0.driver == .gat947 })
        XCTAssertTrue(catalog.profiles.contains { $0.driver == .usbMassStorage })
        XCTAssertGreaterThanOrEqual(catalog.profiles.filter { $0.kind == .printer }.count, 2)
        for profile in catalog.profiles where profile.example {
            let text = (try? String(contentsOfFile: profile.path, encoding: .utf8)) ?? ""
            XCTAssertTrue(text.lowercased().contains("example"), "\(profile.path) must say in its text that it is an example")
        }
    }

    func testMatchesBothModesOfACamera() throws {
        let catalog = DeviceCatalog.load(folders: [try folder(["cam.toml": camera])])
        XCTAssertEqual(catalog.errors, [])
        let control = try XCTUnwrap(catalog.match(vendorId: 0x1209, productId: 0x0001))
        XCTAssertEqual(control.kind, .bodyCamera)
        XCTAssertEqual(control.mode, .control)
        XCTAssertEqual(control.profile?.password, "123456")
        XCTAssertEqual(catalog.match(vendorId: 0x1209, productId: 0x0002)?.mode, .storage)
        XCTAssertNil(catalog.match(vendorId: 0x1209, productId: 0x0003))
    }

    func testUncataloguedPrinterClassIsAGenericPrinter() {
        let catalog = DeviceCatalog()
        let match = catalog.match(vendorId: 0xdead, productId: 0xbeef, interfaceClasses: [0xff, 0x07])
        XCTAssertEqual(match?.kind, .printer)
        XCTAssertEqual(match?.driver, .escposUSB)
        XCTAssertNil(match?.profile)
        XCTAssertNil(catalog.match(vendorId: 0xdead, productId: 0xbeef, interfaceClasses: [0x08]))
    }

    func testLaterFolderOverridesTheSameIds() throws {
        let first = try folder(["cam.toml": camera])
        let second = try folder(["cam2.toml": camera.replacingOccurrences(of: "Cam 1", with: "Cam 1 rev B")])
        let catalog = DeviceCatalog.load(folders: [first, second])
        XCTAssertEqual(catalog.errors, [])
        XCTAssertEqual(catalog.match(vendorId: 0x1209, productId: 0x0001)?.model, "Cam 1 rev B")
        XCTAssertEqual(catalog.effectiveProfiles.map(\.model), ["Cam 1 rev B"])
        XCTAssertEqual(catalog.overridingProfile(of: catalog.profiles[0])?.model, "Cam 1 rev B")
    }

    func testEnvironmentFoldersLoadBeforeCommandLineFolders() {
        let folders = CatalogLocations.folders(extra: ["/c"], environment: ["FIELDGATE_DEVICES": "/a::/b"], includeInstalled: false)
        XCTAssertEqual(folders, ["/a", "/b", "/c"])
    }

    func testErrorsNameTheFileAndTheKey() throws {
        let cases: [(String, String, String)] = [
            ("typo.toml", camera.replacingOccurrences(of: "vendor = ", with: "vendr = "), "vendor"),
            ("kind.toml", camera.replacingOccurrences(of: "body-camera", with: "bodycam"), "kind"),
            ("id.toml", camera.replacingOccurrences(of: "0x0002", with: "0x10002"), "usb[2].product_id"),
            ("mode.toml", camera.replacingOccurrences(of: "\"storage\"", with: "\"disk\""), "usb[2].mode"),
            ("extra.toml", "flavour = 1\n" + camera, "flavour"),
            ("nousb.toml", "kind = \"printer\"\nvendor = \"X\"\nmodel = \"Y\"\ndriver = \"escpos-usb\"\n", "usb"),
            ("password.toml", camera.replacingOccurrences(of: "123456", with: ""), "password"),
            ("printerkey.toml", "paper_width_mm = 58\n" + camera, "paper_width_mm"),
        ]
        for (name, text, key) in cases {
            let path = try folder([name: text])
            let catalog = DeviceCatalog.load(folders: [path])
            XCTAssertEqual(catalog.profiles.count, 0, name)
            let error = try XCTUnwrap(catalog.errors.first, name)
            XCTAssertTrue(error.file.hasSuffix(name), "\(error)")
            if key == "vendor" {
                XCTAssertTrue(error.key == "vendr" || error.key == "vendor", "\(error)")
            } else {
                XCTAssertEqual(error.key, key, "\(error)")
            }
        }
    }

    func testBrokenTomlAndMissingFolderAreErrorsThatDoNotHideGoodProfiles() throws {
        let path = try folder(["good.toml": camera, "bad.toml": "kind = \"printer\nvendor ="])
        let catalog = DeviceCatalog.load(folders: [path, "/nonexistent/fieldgate-profiles"])
        XCTAssertEqual(catalog.profiles.map(\.model), ["Cam 1"])
        XCTAssertEqual(catalog.errors.count, 2)
        XCTAssertTrue(catalog.errors[0].file.hasSuffix("bad.toml"))
        XCTAssertTrue(catalog.errors[0].message.contains("not valid TOML"))
        XCTAssertEqual(catalog.errors[1].file, "/nonexistent/fieldgate-profiles")
    }

    func testTwoFilesInOneFolderClaimingOneIdIsAnError() throws {
        let path = try folder(["a.toml": camera, "b.toml": camera.replacingOccurrences(of: "Cam 1", with: "Other")])
        let catalog = DeviceCatalog.load(folders: [path])
        XCTAssertEqual(catalog.profiles.count, 1)
        XCTAssertEqual(catalog.errors.first?.key, "usb")
        XCTAssertTrue(catalog.errors.first?.message.contains("a.toml") ?? false)
    }
}
