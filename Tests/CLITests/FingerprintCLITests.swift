import Foundation
import TestSupport
import USBEmulation
import XCTest

/// `fieldgate fingerprint capture` through real libfprint and its `virtual_image` reader,
/// fed a generated fingerprint over the FP_VIRTUAL_IMAGE socket.
final class FingerprintCLITests: XCTestCase {
    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    let caseNumber = "杭城管简〔2024〕0002号"
    let documentNumber = "杭城管停〔2024〕000123号"

    /// A store with the seed cases and the parking notice printed on a pty printer, and the
    /// environment that makes libfprint offer its virtual reader on a fresh socket.
    private func printedNotice() throws -> (env: [String: String], socket: String) {
        let folder = try temporaryFolder(self)
        let env = ["FIELDGATE_HOME": folder.appendingPathComponent("home").path,
                   "FP_VIRTUAL_IMAGE": folder.appendingPathComponent("fp.sock").path]
        XCTAssertEqual(try runFieldgate(["cases", "import", repositoryRoot.appendingPathComponent("seeds/cases.csv").path], environment: env).status, 0)
        let pty = try PseudoTerminal()
        pty.startReading()
        XCTAssertEqual(try runFieldgate(["printers", "add", "bt1", "--path", pty.path], environment: env).status, 0)
        let printed = try runFieldgate(["print", "--template", "parking-notice", "--printer", "bt1", "--data",
                                        repositoryRoot.appendingPathComponent("seeds/documents/parking-notice.json").path], environment: env)
        XCTAssertEqual(printed.status, 0, printed.stderr)
        return (env, env["FP_VIRTUAL_IMAGE"]!)
    }

    private func capture(_ env: [String: String], extra: [String] = []) throws -> CommandResult {
        try runFieldgate(["fingerprint", "capture", "--case", caseNumber, "--document", documentNumber, "--person", "王某某", "--json"] + extra,
                         environment: env)
    }

    func testTheStoredImageIsTheImageThatWasPressed() throws {
        let (env, socket) = try printedNotice()
        let image = VirtualFingerprint.image(seed: 7)
        let sent = Pressed()
        Thread.detachNewThread { sent.set(VirtualFingerprint.press(.finger(image), socketPath: socket)) }
        let result = try capture(env, extra: ["--role", "witness"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(sent.wait())
        let row = try json(result.stdout)
        XCTAssertEqual(row["width"] as? Int, VirtualFingerprint.width)
        XCTAssertEqual(row["height"] as? Int, VirtualFingerprint.height)
        XCTAssertEqual(row["role"] as? String, "witness")
        XCTAssertEqual(row["format"] as? String, "pgm")
        let sha = try XCTUnwrap(row["sha256"] as? String)
        let stored = try Data(contentsOf: URL(fileURLWithPath: env["FIELDGATE_HOME"]!).appendingPathComponent("objects/sha256/\(sha.prefix(2))/\(sha)"))
        XCTAssertEqual([UInt8](stored), VirtualFingerprint.pgm(image), "the stored image is the pressed image, losslessly")

        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["fingerprints"] as? Int, 1)
        XCTAssertEqual((audit["problems"] as? [Any])?.count, 0)
        XCTAssertEqual(audit["events"] as? Int, 2, "printed, then fingerprint-captured")
    }

    func testAReaderErrorIsAClearErrorAndStoresNothing() throws {
        let (env, socket) = try printedNotice()
        let sent = Pressed()
        Thread.detachNewThread { sent.set(VirtualFingerprint.press(.error, socketPath: socket)) }
        let result = try capture(env)
        XCTAssertTrue(sent.wait())
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("capture on") && result.stderr.contains("nothing was stored"), result.stderr)
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["fingerprints"] as? Int, 0)
        XCTAssertEqual(audit["events"] as? Int, 1)
    }

    func testNoFingerInTimeIsAClearErrorAndStoresNothing() throws {
        let (env, _) = try printedNotice()
        let result = try capture(env, extra: ["--timeout", "1"])
        // Status 1 is the command's own error exit: the capture was cancelled at its time limit,
        // not killed by the test's (which would end it by a signal).
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("no finger") && result.stderr.contains("within 1 s"), result.stderr)
        let audit = try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout)
        XCTAssertEqual(audit["fingerprints"] as? Int, 0)
    }

    func testADocumentNotPrintedForTheCaseOrNoReaderIsRefused() throws {
        let (env, _) = try printedNotice()
        let other = try runFieldgate(["fingerprint", "capture", "--case", "杭城管简〔2024〕0001号", "--document", documentNumber,
                                      "--person", "王某某"], environment: env)
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains("has not been printed for case 杭城管简〔2024〕0001号"), other.stderr)
        var noReader = env
        noReader["FP_VIRTUAL_IMAGE"] = nil
        let result = try runFieldgate(["fingerprint", "capture", "--case", caseNumber, "--document", documentNumber, "--person", "王某某"],
                                      environment: noReader)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("no fingerprint reader"), result.stderr)
    }

    func testScanListsTheReadersLibfprintSees() throws {
        let (env, _) = try printedNotice()
        let scan = try runFieldgate(["scan", "--json"], environment: env)
        XCTAssertEqual(scan.status, 0, scan.stderr)
        let entries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(scan.stdout.utf8)) as? [[String: Any]])
        let readers = entries.filter { $0["kind"] as? String == "fingerprint-reader" }
        XCTAssertEqual(readers.count, 1)
        XCTAssertEqual(readers.first?["name"] as? String, "virtual_image")
        XCTAssertEqual(readers.first?["driver"] as? String, "libfprint")
    }
}

/// Whether the feeder thread delivered its press.
private final class Pressed: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var value = false
    func set(_ delivered: Bool) {
        lock.withLock { value = delivered }
        done.signal()
    }
    func wait() -> Bool {
        _ = done.wait(timeout: .now() + 30)
        return lock.withLock { value }
    }
}
