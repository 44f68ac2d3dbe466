import Foundation
import Print
import TestSupport
import USBEmulation
import XCTest

/// `fieldgate print` and `fieldgate printers` as a user runs them, on an emulated USB printer
/// and on a pty standing in for a Bluetooth printer's /dev/rfcommN.
final class PrintCLITests: XCTestCase {
    let seed = repositoryRoot.appendingPathComponent("seeds/documents/parking-notice.json").path

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// A store with the seed cases.
    private func home() throws -> [String: String] {
        let env = ["FIELDGATE_HOME": try temporaryFolder(self).path]
        let imported = try runFieldgate(["cases", "import", repositoryRoot.appendingPathComponent("seeds/cases.csv").path], environment: env)
        XCTAssertEqual(imported.status, 0, imported.stderr)
        return env
    }

    private func blob(_ env: [String: String], _ sha: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: env["FIELDGATE_HOME"]!).appendingPathComponent("objects/sha256/\(sha.prefix(2))/\(sha)")))
    }

    func testPrintingOnAUSBPrinterKeepsTheExactBytesAsEvidence() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        try testbed.plug(printer.description, behaviour: printer)
        let env = try home()
        let preview = try temporaryFolder(self).appendingPathComponent("preview.txt")
        let result = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "PRN0001",
                                       "--copies", "2", "--preview", preview.path, "--json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        let printed = try json(result.stdout)
        XCTAssertEqual(printed["copies"] as? Int, 2)
        XCTAssertEqual(printed["paperWidthMillimetres"] as? Int, 58, "POS-58's profile says 58 mm")
        let sha = try XCTUnwrap(printed["sha256"] as? String)
        XCTAssertEqual(try blob(env, sha), printer.received, "the blob is exactly what the printer received")

        let printout = try IndependentPrintout(bytes: printer.received)
        let verificationId = try XCTUnwrap(printed["verificationId"] as? String)
        XCTAssertTrue(verificationId.hasPrefix("杭城管停〔2024〕000123号#"))
        XCTAssertEqual(printout.qrCodes.map(\.data), [verificationId, verificationId])
        XCTAssertEqual(printout.cuts.count, 2)
        let text = printout.texts
        XCTAssertTrue(text.contains("号牌号码：浙A·12345") && text.contains("违法停车告知单"), "\(text)")
        XCTAssertTrue(text.allSatisfy { $0.printerColumns <= 32 })
        let shown = try String(contentsOf: preview, encoding: .utf8)
        XCTAssertTrue(shown.contains("违法地点：") && shown.contains("[QR] " + verificationId) && shown.contains("cut"), shown)

        // Registered by its USB serial, with a model whose profile says 80 mm.
        let add = try runFieldgate(["printers", "add", "desk", "--usb", "PRN0001", "--model", "TM-T20"], environment: env)
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssertTrue(try runFieldgate(["printers", "list"], environment: env).stdout.contains("80 mm"))
        let before = printer.received.count
        let desk = try runFieldgate(["print", "--template", "on-the-spot-penalty", "--printer", "desk", "--json", "--data",
                                     repositoryRoot.appendingPathComponent("seeds/documents/on-the-spot-penalty.json").path], environment: env)
        XCTAssertEqual(desk.status, 0, desk.stderr)
        let wide = try json(desk.stdout)
        XCTAssertEqual(wide["paperWidthMillimetres"] as? Int, 80)
        XCTAssertEqual(try blob(env, try XCTUnwrap(wide["sha256"] as? String)), Array(printer.received.dropFirst(before)))
        let lines = try IndependentPrintout(bytes: Array(printer.received.dropFirst(before))).texts
        XCTAssertTrue(lines.allSatisfy { $0.printerColumns <= 48 } && lines.contains { $0.printerColumns > 32 }, "\(lines)")

        let audit = try runFieldgate(["audit", "verify", "--json"], environment: env)
        XCTAssertEqual(audit.status, 0, audit.stdout)
        let report = try json(audit.stdout)
        XCTAssertEqual(report["printedDocuments"] as? Int, 2)
        XCTAssertEqual(report["blobsChecked"] as? Int, 2)
    }

    func testAPrinterOutOfPaperIsAClearErrorAndNothingIsRecorded() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        printer.paperOut = true
        try testbed.plug(printer.description, behaviour: printer)
        let env = try home()
        let result = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "PRN0001"], environment: env)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("printer PRN0001 refused") && result.stderr.contains("out of paper"), result.stderr)
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["printedDocuments"] as? Int, 0)
        XCTAssertEqual(audit["events"] as? Int, 0)
    }

    func testABluetoothPrinterIsRegisteredByPathScannedAndPrintedOn() throws {
        let env = try home()
        let pty = try PseudoTerminal()
        pty.startReading()
        let add = try runFieldgate(["printers", "add", "bt1", "--path", pty.path, "--model", "P2 蓝牙便携打印机"], environment: env)
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssertEqual(try runFieldgate(["printers", "add", "bt1", "--path", pty.path], environment: env).status, 1)
        XCTAssertEqual(try runFieldgate(["printers", "add", "gone", "--path", "/dev/rfcomm-none", "--paper", "80"], environment: env).status, 0)

        let scan = try runFieldgate(["scan", "--json"], environment: env)
        XCTAssertEqual(scan.status, 0, scan.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(scan.stdout.utf8)) as? [[String: Any]])
        let printers = entries.filter { $0["kind"] as? String == "printer" && $0["path"] is String }
        XCTAssertEqual(printers.map { $0["name"] as? String }, ["bt1", "gone"])
        XCTAssertEqual(printers.map { $0["state"] as? String }, ["present", "absent"])
        XCTAssertEqual(printers[0]["vendor"] as? String, "Example Print")
        let keys: Set<String> = ["bus", "address", "port", "speed", "vendorId", "productId", "kind", "vendor", "model", "driver", "mode",
                                 "serial", "manufacturer", "product", "state", "hint", "profile", "interfaceClasses", "name", "path", "deviceId"]
        for entry in entries { XCTAssertEqual(Set(entry.keys), keys) }

        let result = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "bt1", "--json"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        let printed = try json(result.stdout)
        let sent = try blob(env, try XCTUnwrap(printed["sha256"] as? String))
        XCTAssertEqual(pty.waitForBytes(sent.count), sent)
        XCTAssertEqual(try IndependentPrintout(bytes: pty.received).qrCodes.map(\.data), [printed["verificationId"] as? String])

        let absent = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "gone"], environment: env)
        XCTAssertEqual(absent.status, 1)
        XCTAssertTrue(absent.stderr.contains("printer gone is not there") && absent.stderr.contains("/dev/rfcomm-none"), absent.stderr)

        let list = try runFieldgate(["printers", "list"], environment: env)
        XCTAssertTrue(list.stdout.contains("bt1") && list.stdout.contains("present") && list.stdout.contains("80 mm"), list.stdout)
        XCTAssertEqual(try runFieldgate(["printers", "remove", "gone"], environment: env).status, 0)
        XCTAssertEqual(try runFieldgate(["printers", "remove", "gone"], environment: env).status, 1)
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["printedDocuments"] as? Int, 1, "the failed print recorded nothing")
    }

    func testABusyUSBPrinterTimesOutAndNothingIsRecorded() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        printer.busy = true
        try testbed.plug(printer.description, behaviour: printer)
        let env = try home()
        let result = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "PRN0001", "--timeout", "1"],
                                      environment: env)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("printer PRN0001 timed out"), result.stderr)
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["printedDocuments"] as? Int, 0)
    }

    func testAPrinterThatStopsTakingBytesTimesOutAndNothingIsRecorded() throws {
        let env = try home()
        let pty = try PseudoTerminal()
        pty.stopOutput()
        XCTAssertEqual(try runFieldgate(["printers", "add", "stuck", "--path", pty.path], environment: env).status, 0)
        let result = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "stuck", "--timeout", "1"],
                                      environment: env)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("printer stuck timed out"), result.stderr)
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["printedDocuments"] as? Int, 0)
    }

    func testBadDataAnUnknownTemplateCaseOrPrinterAreNamedAndNothingIsPrinted() throws {
        let env = try home()
        let pty = try PseudoTerminal()
        pty.startReading()
        XCTAssertEqual(try runFieldgate(["printers", "add", "bt1", "--path", pty.path], environment: env).status, 0)
        let folder = try temporaryFolder(self)
        let bad = folder.appendingPathComponent("notice.json")
        try Data(#"{"documentNumber": "X1", "caseNumber": "杭城管简〔2024〕0002号", "time": "9:30", "colour": "red"}"#.utf8).write(to: bad)
        let result = try runFieldgate(["print", "--template", "parking-notice", "--data", bad.path, "--printer", "bt1"], environment: env)
        XCTAssertEqual(result.status, 1)
        for field in ["issuer", "plate", "time", "place", "facts", "legalBasis", "deadline", "handlingPlace", "officers", "colour"] {
            XCTAssertTrue(result.stderr.contains("- \(field):"), "\(field) not named: \(result.stderr)")
        }
        XCTAssertFalse(result.stderr.contains("- vehicle:"), "optional fields may be left out")

        let unknown = try runFieldgate(["print", "--template", "parking", "--data", seed, "--printer", "bt1"], environment: env)
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no template named \"parking\"") && unknown.stderr.contains("parking-notice"), unknown.stderr)

        var data = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: seed))) as? [String: Any])
        data["caseNumber"] = "杭城管简〔2099〕9999号"
        let otherCase = folder.appendingPathComponent("other.json")
        try JSONSerialization.data(withJSONObject: data).write(to: otherCase)
        let noCase = try runFieldgate(["print", "--template", "parking-notice", "--data", otherCase.path, "--printer", "bt1"], environment: env)
        XCTAssertEqual(noCase.status, 1)
        XCTAssertTrue(noCase.stderr.contains("case 杭城管简〔2099〕9999号") && noCase.stderr.contains("cases import"), noCase.stderr)

        let noPrinter = try runFieldgate(["print", "--template", "parking-notice", "--data", seed, "--printer", "nowhere"], environment: env)
        XCTAssertEqual(noPrinter.status, 1)
        XCTAssertTrue(noPrinter.stderr.contains("no printer named nowhere") && noPrinter.stderr.contains("printers add"), noPrinter.stderr)

        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertEqual(pty.received, [], "nothing reached the printer")
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["events"] as? Int, 0)
    }
}
