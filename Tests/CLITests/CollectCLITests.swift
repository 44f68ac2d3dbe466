import Foundation
import TestSupport
import USBEmulation
import XCTest

/// `fieldgate collect` and the ledger commands as a user runs them: separate processes, emulated cameras.
final class CollectCLITests: XCTestCase {
    private func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    private func volume(_ serial: String, officer: String = "010203") throws -> URL {
        let root = try temporaryFolder(self).appendingPathComponent(serial)
        _ = try SampleRecordings.writeVolume(at: root, cameraSerial: serial, officerNumber: officer, start: "20241105093012")
        return root
    }

    func testCollectsADockedCameraRecordsItsDriftAndCollectsNothingTwice() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self).path
        let camera = EmulatedModels.gat947Camera(serial: "A123456", clockOffset: 3 * 3600 + 5, volume: try volume("A123456"))
        try camera.dock(on: testbed)
        let env = ["FIELDGATE_HOME": home]
        XCTAssertEqual(try runFieldgate(["officers", "import", repositoryRoot.appendingPathComponent("seeds/officers.csv").path],
                                        environment: env).status, 0)

        let first = try runFieldgate(["collect", "--all", "--json"], environment: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        let summaries = try XCTUnwrap(try json(first.stdout) as? [[String: Any]])
        XCTAssertEqual(summaries.first?["camera"] as? String, "A123456")
        XCTAssertEqual(summaries.first?["new"] as? Int, 7)
        XCTAssertEqual(camera.clock.timeIntervalSinceNow, 0, accuracy: 3, "the camera's clock was corrected")
        XCTAssertEqual(camera.pluggedDevice.map { _ in true }, true)

        let ledger = try runFieldgate(["list", "--json"], environment: env)
        let rows = try XCTUnwrap(try json(ledger.stdout) as? [[String: Any]])
        XCTAssertEqual(rows.count, 7)
        let drift = try XCTUnwrap(rows.first?["clockDriftSeconds"] as? Double)
        XCTAssertEqual(drift, 3 * 3600 + 5, accuracy: 2)
        XCTAssertTrue(rows.allSatisfy { ($0["officer"] as? String) == "010203" })

        let csv = try runFieldgate(["list", "--csv", "--important"], environment: env)
        let lines = csv.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, csv.stdout)
        XCTAssertTrue(lines[0].hasPrefix("id,camera,officer,started_utc"))
        XCTAssertTrue(lines[1].contains("_IMP.MP4"))

        let status = try XCTUnwrap(try json(try runFieldgate(["status", "--json"], environment: env).stdout) as? [String: Any])
        XCTAssertEqual(status["recordings"] as? Int, 7)

        // The camera is now in storage mode: collecting again reads the same volume and adds nothing.
        let second = try runFieldgate(["collect", "--camera", "A123456", "--json"], environment: env)
        XCTAssertEqual(second.status, 0, second.stderr)
        let again = try XCTUnwrap(try json(second.stdout) as? [[String: Any]])
        XCTAssertEqual(again.first?["new"] as? Int, 0)
        XCTAssertEqual(again.first?["alreadyCollected"] as? Int, 7)
        XCTAssertEqual(try runFieldgate(["audit", "verify"], environment: env).status, 0)
    }

    func testAWrongPasswordIsAClearErrorAndTheCameraIsLeftAlone() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self)
        let config = home.appendingPathComponent("config.toml")
        try "[passwords.serials]\n\"A777777\" = \"nope\"\n".write(to: config, atomically: true, encoding: .utf8)
        chmod(config.path, 0o600)
        let camera = EmulatedModels.gat947Camera(serial: "A777777", volume: try volume("A777777"))
        try camera.dock(on: testbed)
        let other = EmulatedModels.gat947Camera(serial: "A787878", volume: try volume("A787878"))
        try other.dock(on: testbed)
        // Every camera: the refused one is named, the other is still collected, exit 2.
        let result = try runFieldgate(["collect", "--all", "--json"], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("camera A777777 refused the password"), result.stderr)
        XCTAssertEqual(camera.requestLog, [.auth], "nothing but AUTH reached the camera")
        let summaries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let refused = try XCTUnwrap(summaries.first { $0["camera"] as? String == "A777777" })
        XCTAssertTrue((refused["error"] as? String)?.contains("refused the password") == true, "\(refused)")
        let collected = try XCTUnwrap(summaries.first { $0["camera"] as? String == "A787878" })
        XCTAssertEqual(collected["new"] as? Int, 7)
        XCTAssertTrue(collected["error"] is NSNull)

        // One camera asked for by serial: its failure is the command's, exit 1.
        let one = try runFieldgate(["collect", "--camera", "A777777"], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(one.status, 1)
        XCTAssertTrue(one.stderr.contains("camera A777777 refused the password"), one.stderr)

        chmod(config.path, 0o644)
        let exposed = try runFieldgate(["collect", "--all"], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(exposed.status, 1)
        XCTAssertTrue(exposed.stderr.contains("chmod 600"), exposed.stderr)
    }

    func testATamperedBlobFailsTheAuditByName() throws {
        let home = try temporaryFolder(self)
        let root = try volume("A123456")
        let env = ["FIELDGATE_HOME": home.path]
        XCTAssertEqual(try runFieldgate(["collect", "--from", root.path, "--camera", "A123456"], environment: env).status, 0)
        let rows = try XCTUnwrap(try json(try runFieldgate(["list", "--json"], environment: env).stdout) as? [[String: Any]])
        let target = try XCTUnwrap(rows.first { ($0["source"] as? String)?.hasSuffix(".WAV") == true })
        let sha = try XCTUnwrap(target["sha256"] as? String)
        let blob = home.appendingPathComponent("objects/sha256/\(sha.prefix(2))/\(sha)")
        let handle = try FileHandle(forWritingTo: blob)
        handle.seek(toFileOffset: 100)
        handle.write(Data([0x42]))
        try handle.close()
        let audit = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertEqual(audit.status, 1)
        XCTAssertTrue(audit.stdout.contains("TAMPERED") && audit.stdout.contains(target["source"] as! String), audit.stdout)
    }

    func testKilledAtAnyPointCollectingAgainLeavesExactlyOneVerifiedCopyOfEveryFile() throws {
        let home = try temporaryFolder(self)
        let root = try temporaryFolder(self).appendingPathComponent("volume")
        var expected = 0
        for index in 0..<300 {
            let folder = root.appendingPathComponent("DCIM/\(index / 100)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let size = index % 50 == 0 ? 3 << 20 : 2048 + index
            try Data(repeating: UInt8(index % 251), count: size).write(to: folder.appendingPathComponent("clip\(index).MP4"))
            expected += 1
        }
        let binary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("fieldgate")
        for delay in [0.02, 0.08, 0.15, 0.3, 0.5, 0.8] {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["collect", "--from", root.path, "--camera", "A123456", "--json"]
            process.environment = ProcessInfo.processInfo.environment.merging(["FIELDGATE_HOME": home.path]) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let final = try runFieldgate(["collect", "--from", root.path, "--camera", "A123456", "--json"],
                                     environment: ["FIELDGATE_HOME": home.path], timeout: 120)
        XCTAssertEqual(final.status, 0, final.stderr)
        let rows = try XCTUnwrap(try json(try runFieldgate(["list", "--json"], environment: ["FIELDGATE_HOME": home.path]).stdout)
            as? [[String: Any]])
        XCTAssertEqual(rows.count, expected, "exactly one row per file")
        XCTAssertEqual(Set(rows.compactMap { $0["source"] as? String }).count, expected)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("tmp").path), [],
                       "no orphan temporary files")
        let audit = try runFieldgate(["audit", "verify"], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(audit.status, 0, audit.stdout)
        XCTAssertTrue(audit.stdout.contains("\(expected) blobs verified"), audit.stdout)
    }

    func testOfficersImportNamesEveryBadLineAndLoadsNothing() throws {
        let home = try temporaryFolder(self)
        let csv = home.appendingPathComponent("officers.csv")
        try """
            number,name,certificate_number,certificate_status,certificate_expires,unit
            010203,张伟,1,valid,,一中队
            12345,短号,2,valid,,
            020304,李娜,3,suspended,,
            030405,王强,4,valid,2024-13-01,
            """.write(to: csv, atomically: true, encoding: .utf8)
        let result = try runFieldgate(["officers", "import", csv.path], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertNotEqual(result.status, 0)
        for line in ["line 3", "line 4", "line 5"] { XCTAssertTrue(result.stderr.contains(line), result.stderr) }
        XCTAssertEqual(try runFieldgate(["officers", "list", "--json"], environment: ["FIELDGATE_HOME": home.path]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines), "[\n\n]")
    }

    func testCollectFromNeedsACameraAndAnUnknownSerialIsNamed() throws {
        let home = try temporaryFolder(self)
        let missing = try runFieldgate(["collect", "--from", home.path], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("--from needs --camera"), missing.stderr)
        _ = try emulationTestbed()
        let unknown = try runFieldgate(["collect", "--camera", "Z999999"], environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("no docked camera with serial Z999999"), unknown.stderr)
    }
}

/// `fieldgate camera` and the seed imports.
final class CameraCLITests: XCTestCase {
    func testInfoShowsTheRecordAndAssignWritesAKnownOfficer() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self).path
        let env = ["FIELDGATE_HOME": home]
        let camera = EmulatedModels.gat947Camera(serial: "A246810", officerNumber: "010203", officerName: "张伟", clockOffset: -600)
        try camera.dock(on: testbed)

        let info = try runFieldgate(["camera", "info", "A246810", "--json"], environment: env)
        XCTAssertEqual(info.status, 0, info.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((object["record"] as? [String: Any])?["officerName"] as? String, "张伟")
        XCTAssertEqual(try XCTUnwrap(object["clockDriftSeconds"] as? Double), -600, accuracy: 2)
        XCTAssertEqual(object["battery"] as? Int, 87)
        XCTAssertEqual(camera.clock.timeIntervalSinceNow, -600, accuracy: 2, "info changes nothing")

        let unknown = try runFieldgate(["camera", "assign", "A246810", "--officer", "020304"], environment: env)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("officer 020304 is not known"), unknown.stderr)

        XCTAssertEqual(try runFieldgate(["officers", "import", repositoryRoot.appendingPathComponent("seeds/officers.csv").path],
                                        environment: env).status, 0)
        func custodyEvents() throws -> Int? {
            let audit = try runFieldgate(["audit", "verify", "--json"], environment: env)
            XCTAssertEqual(audit.status, 0, audit.stdout)
            return (try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any])?["events"] as? Int
        }
        let eventsBefore = try XCTUnwrap(try custodyEvents())
        let assign = try runFieldgate(["camera", "assign", "A246810", "--officer", "020304"], environment: env)
        XCTAssertEqual(assign.status, 0, assign.stderr)
        XCTAssertEqual(camera.currentRecord.officerNumber, "020304")
        XCTAssertEqual(camera.currentRecord.officerName, "李娜")
        XCTAssertEqual(camera.currentRecord.unitName, "城市管理综合执法大队一中队")
        XCTAssertEqual(try custodyEvents(), eventsBefore + 1, "the assignment is one custody event, and the chain still verifies")
    }

    func testSeedCasesImportAndABadCaseLineIsNamed() throws {
        let home = try temporaryFolder(self)
        let env = ["FIELDGATE_HOME": home.path]
        let good = try runFieldgate(["cases", "import", repositoryRoot.appendingPathComponent("seeds/cases.csv").path], environment: env)
        XCTAssertEqual(good.status, 0, good.stderr)
        let list = try runFieldgate(["cases", "list", "--json"], environment: env)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [Any])?.count, 3)
        let bad = home.appendingPathComponent("bad.csv")
        try "number,title,procedure,opened_at\nX1,违法停车,quick,\n".write(to: bad, atomically: true, encoding: .utf8)
        let refused = try runFieldgate(["cases", "import", bad.path], environment: env)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("line 2: procedure \"quick\""), refused.stderr)
    }
}
