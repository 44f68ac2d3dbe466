import Foundation
import TestSupport
import USBEmulation
import XCTest

/// README promises about collecting and the ledger, each through `fieldgate` processes as a user runs them.
final class PromiseCLITests: XCTestCase {
    private func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    private func rows(_ env: [String: String]) throws -> [[String: Any]] {
        let list = try runFieldgate(["list", "--json"], environment: env)
        XCTAssertEqual(list.status, 0, list.stderr)
        return try XCTUnwrap(try json(list.stdout) as? [[String: Any]], list.stdout)
    }

    func testCSVDefusesFormulasButKeepsNegativeNumbers() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self)
        let volume = home.appendingPathComponent("volume")
        _ = try SampleRecordings.writeVolume(at: volume, cameraSerial: "A600600", officerNumber: "010203", start: "20241105093012",
                                             oddFiles: false)
        // Names a spreadsheet would run as formulas, at the volume's root. (A name starting with a tab
        // is shown as \x09…, so it cannot reach the CSV as one.)
        let formulas = ["=1+2.JPG", "+SUM(A1).JPG", "-2+3.JPG", "@cmd.JPG"]
        for name in formulas {
            try Data(SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:40:00")).write(to: volume.appendingPathComponent(name))
        }
        // The camera's clock ten minutes slow: a drift of -600 s, a number and not a formula.
        let camera = EmulatedModels.gat947Camera(serial: "A600600", clockOffset: -600, volume: volume)
        try camera.dock(on: testbed)
        let env = ["FIELDGATE_HOME": home.appendingPathComponent("store").path]
        let collected = try runFieldgate(["collect", "--all", "--json"], environment: env)
        XCTAssertEqual(collected.status, 0, collected.stderr)

        let csv = try runFieldgate(["list", "--csv"], environment: env)
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let lines = csv.stdout.split(separator: "\n").map { Self.csvFields(String($0)) }
        let header = try XCTUnwrap(lines.first)
        let drift = try XCTUnwrap(header.firstIndex(of: "clock_drift_s")), source = try XCTUnwrap(header.firstIndex(of: "source"))
        let body = lines.dropFirst()
        XCTAssertEqual(body.count, 4 + formulas.count, csv.stdout)
        for row in body {
            let value = try XCTUnwrap(Int(row[drift]), "a clock drift is a plain number: \(row[drift])")
            XCTAssertEqual(Double(value), -600, accuracy: 2)
        }
        let sources = Set(body.map { $0[source] })
        for name in formulas { XCTAssertTrue(sources.contains("'" + name), "\(name) not defused in \(sources)") }
        XCTAssertTrue(sources.contains { $0.hasPrefix("DCIM/A600600_") }, "ordinary names stay as they are: \(sources)")
    }

    /// The fields of one CSV line (RFC 4180: a quoted field may hold commas and doubled quotes).
    static func csvFields(_ line: String) -> [String] {
        var fields: [String] = [], field = "", quoted = false
        var characters = line.makeIterator()
        while let character = characters.next() {
            if quoted {
                if character == "\"" {
                    quoted = false
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                if !field.isEmpty { field.append(character) }  // the second of a doubled quote
                quoted = true
            } else if character == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }

    func testAuditVerifyNamesAMissingBlob() throws {
        let home = try temporaryFolder(self)
        let volume = home.appendingPathComponent("volume")
        _ = try SampleRecordings.writeVolume(at: volume, cameraSerial: "A123456", officerNumber: "010203", start: "20241105093012")
        let env = ["FIELDGATE_HOME": home.appendingPathComponent("store").path]
        XCTAssertEqual(try runFieldgate(["collect", "--from", volume.path, "--camera", "A123456"], environment: env).status, 0)
        let target = try XCTUnwrap(try rows(env).first { ($0["source"] as? String)?.hasSuffix(".JPG") == true })
        let sha = try XCTUnwrap(target["sha256"] as? String), source = try XCTUnwrap(target["source"] as? String)
        try FileManager.default.removeItem(at: home.appendingPathComponent("store/objects/sha256/\(sha.prefix(2))/\(sha)"))

        let audit = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertEqual(audit.status, 1, audit.stdout)
        let named = audit.stdout.split(separator: "\n").filter { $0.hasPrefix("TAMPERED") }
        XCTAssertEqual(named.count, 1, audit.stdout)
        XCTAssertTrue(named.first.map { $0.contains(source) && $0.contains(sha) && $0.hasSuffix("is missing") } == true, audit.stdout)
        let report = try XCTUnwrap(try json(try runFieldgate(["audit", "verify", "--json"], environment: env).stdout) as? [String: Any])
        let problems = try XCTUnwrap(report["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.map { $0["kind"] as? String }, ["missing-blob"])
    }

    func testAFileThatCannotBeReadNowIsNamedExitsTwoAndIsCollectedNextTime() throws {
        let folder = try temporaryFolder(self)
        let volume = folder.appendingPathComponent("volume")
        let files = try SampleRecordings.writeVolume(at: volume, cameraSerial: "A123456", officerNumber: "010203",
                                                     start: "20241105093012", oddFiles: false)
        let locked = try XCTUnwrap(files.first { $0.hasSuffix(".WAV") })
        chmod(volume.appendingPathComponent(locked).path, 0)
        let home = folder.appendingPathComponent("store")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // Root reads any file: collect as nobody, for whom a mode-000 file is unreadable as on a real card.
        let nobody: uid_t = 65534
        if getuid() == 0 { chown(home.path, nobody, gid_t(nobody)) }
        func collect() throws -> CommandResult {
            let arguments = ["collect", "--from", volume.path, "--camera", "A123456", "--json", "--home", home.path]
            if getuid() != 0 { return try runFieldgate(arguments) }
            return try runProgram("/usr/bin/setpriv", ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", "--",
                                                       builtBinary("fieldgate").path] + arguments)
        }

        let first = try collect()
        XCTAssertEqual(first.status, 2, first.stderr + first.stdout)
        let summary = try XCTUnwrap((try json(first.stdout) as? [[String: Any]])?.first, first.stdout)
        XCTAssertEqual(summary["new"] as? Int, files.count - 1)
        let failed = try XCTUnwrap(summary["failed"] as? [[String: Any]])
        XCTAssertEqual(failed.count, 1)
        XCTAssertEqual(failed.first?["path"] as? String, locked)
        XCTAssertTrue((failed.first?["reason"] as? String)?.contains("Permission denied") == true, "\(failed)")

        chmod(volume.appendingPathComponent(locked).path, 0o644)
        let second = try collect()
        XCTAssertEqual(second.status, 0, second.stderr)
        let again = try XCTUnwrap((try json(second.stdout) as? [[String: Any]])?.first)
        XCTAssertEqual(again["new"] as? Int, 1)
        XCTAssertEqual(again["alreadyCollected"] as? Int, files.count - 1)
    }

    func testSerialMismatchAndUnrecognisedContentAreCollectedAndFlagged() throws {
        let home = try temporaryFolder(self)
        let env = ["FIELDGATE_HOME": home.appendingPathComponent("store").path]
        XCTAssertEqual(try runFieldgate(["officers", "import", repositoryRoot.appendingPathComponent("seeds/officers.csv").path],
                                        environment: env).status, 0)
        XCTAssertEqual(try runFieldgate(["camera", "register", "A123456"], environment: env).status, 0)
        let volume = home.appendingPathComponent("volume/DCIM")
        try FileManager.default.createDirectory(at: volume, withIntermediateDirectories: true)
        let photo = Data(SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12"))
        try photo.write(to: volume.appendingPathComponent("A123456_010203_20241105093012_0001.JPG"))
        try photo.write(to: volume.appendingPathComponent("B765432_010203_20241105093112_0002.JPG"))
        try Data("meeting notes, not a recording\n".utf8).write(to: volume.appendingPathComponent("A123456_010203_20241105093212_0003.MP4"))

        let result = try runFieldgate(["collect", "--from", volume.deletingLastPathComponent().path, "--camera", "A123456", "--json"],
                                      environment: env)
        XCTAssertEqual(result.status, 0, result.stderr)
        let flags = Dictionary(uniqueKeysWithValues: try rows(env).map { (($0["source"] as? String) ?? "", ($0["flags"] as? String) ?? "?") })
        XCTAssertEqual(flags, ["DCIM/A123456_010203_20241105093012_0001.JPG": "",
                               "DCIM/B765432_010203_20241105093112_0002.JPG": "serial-mismatch",
                               "DCIM/A123456_010203_20241105093212_0003.MP4": "unrecognised-content"])
        let flagged = try runFieldgate(["list", "--flagged", "--json"], environment: env)
        XCTAssertEqual((try json(flagged.stdout) as? [Any])?.count, 2)
    }

    func testEveryBlobIsFdatasyncedBeforeItsRenameAndTheFolderSyncedAfter() throws {
        let folder = try temporaryFolder(self)
        let volume = folder.appendingPathComponent("volume")
        let files = try SampleRecordings.writeVolume(at: volume, cameraSerial: "A123456", officerNumber: "010203",
                                                     start: "20241105093012", oddFiles: false)
        let trace = folder.appendingPathComponent("trace.txt").path
        // strace -y names each descriptor's file, so a sync can be matched to the rename of the same file.
        let result = try runProgram("/usr/bin/strace", ["-f", "-y", "-qq", "-e", "trace=close,fdatasync,rename,renameat,renameat2,syncfs",
                                                        "-o", trace, builtBinary("fieldgate").path, "collect", "--from", volume.path,
                                                        "--camera", "A123456", "--home", folder.appendingPathComponent("store").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        func descriptorPath(_ line: String, after call: String) -> String? {
            guard let start = line.range(of: call), let open = line.range(of: "<", range: start.upperBound..<line.endIndex),
                  let close = line.range(of: ">", range: open.upperBound..<line.endIndex) else { return nil }
            return String(line[open.upperBound..<close.lowerBound])
        }
        // A staged copy's bytes are durable once fdatasync'd, or once a syncfs of the store
        // succeeded after its last write (its descriptor closed).
        var synced: Set<String> = [], closedAt: [String: Int] = [:], syncfsLines: [Int] = []
        var renamed: [(from: String, line: Int)] = [], lastFolderSync = -1
        for (number, line) in lines.enumerated() {
            if let path = descriptorPath(line, after: "fdatasync("), line.contains("= 0") { synced.insert(path) }
            if let path = descriptorPath(line, after: "close("), path.contains("/tmp/stage-") { closedAt[path] = number }
            if line.contains("syncfs("), line.contains("= 0") {
                syncfsLines.append(number)
                lastFolderSync = number
            }
            // Only renames that took place: one refused (its folder not made yet, or the same
            // blob already there) moved nothing.
            if line.contains("rename"), line.contains("/objects/sha256/"), line.hasSuffix("= 0"),
               let quoted = line.split(separator: "\"").dropFirst().first {
                let path = String(quoted)
                let durable = synced.contains(path) || closedAt[path].map { closed in syncfsLines.contains { $0 > closed } } == true
                XCTAssertTrue(durable, "renamed before its data was synced: \(line)")
                renamed.append((path, number))
            }
        }
        XCTAssertEqual(renamed.count, files.count, "one rename into the store per file:\n\(lines.joined(separator: "\n"))")
        XCTAssertGreaterThan(lastFolderSync, renamed.map(\.line).max() ?? .max, "the renamed entries are synced (syncfs) after the last rename")
    }

    func testWatchEndsCleanlyOnSIGTERM() throws {
        _ = try emulationTestbed()
        let process = Process()
        process.executableURL = builtBinary("fieldgate")
        process.arguments = ["watch", "--json"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 1)
        XCTAssertTrue(process.isRunning, "watch ended before it was signalled")
        process.terminate()  // SIGTERM, as systemd or kill sends
        let output = readUntil(out.fileHandleForReading, timeout: 30) { _ in false }
        XCTAssertTrue(waitForExit(process, timeout: 30), "watch did not end on SIGTERM")
        XCTAssertEqual(process.terminationReason, .exit, "ended by its own exit, not by the signal")
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(output, "", "no device came or went")
    }
}
