import Foundation
import TestSupport
import USBEmulation
import XCTest

/// `fieldgate station` as a docking station runs: a child process, emulated cameras docked and
/// undocked through the real libusb path, a real `fieldgate-server` on loopback.
final class StationCLITests: XCTestCase {
    private func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// A camera volume: the generated sample recordings plus `extraFiles` files of random bytes
    /// (`extraBytes` each), which make the copy last long enough to act during it.
    private func volume(_ serial: String, extraFiles: Int = 0, extraBytes: Int = 1 << 20) throws -> URL {
        let root = try temporaryFolder(self).appendingPathComponent(serial)
        _ = try SampleRecordings.writeVolume(at: root, cameraSerial: serial, officerNumber: "010203", start: "20261125093012")
        let folder = root.appendingPathComponent("DCIM")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for index in 0..<extraFiles {
            let name = "\(serial)_010203_20261125\(String(format: "%06d", 100000 + index))_\(String(format: "%04d", 100 + index)).MP4"
            var bytes = [UInt8](repeating: 0, count: extraBytes)
            for offset in stride(from: 0, to: bytes.count, by: 8) {
                var value = UInt64.random(in: 0...UInt64.max)
                withUnsafeBytes(of: &value) { raw in
                    for byte in 0..<min(8, bytes.count - offset) { bytes[offset + byte] = raw[byte] }
                }
            }
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
        return root
    }

    private func files(in volume: URL) -> Int {
        (FileManager.default.enumerator(atPath: volume.path)?.allObjects as? [String] ?? []).filter { path in
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: volume.appendingPathComponent(path).path, isDirectory: &isFolder) && !isFolder.boolValue
        }.count
    }

    private func config(_ home: URL, _ text: String) throws {
        let url = home.appendingPathComponent("config.toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        chmod(url.path, 0o600)
    }

    /// A server on loopback, started, with gateway `name` enrolled from the home in `environment`.
    private func enrolledServer(_ name: String, data: URL, environment: [String: String]) throws -> KillableServer {
        let server = KillableServer(data: data)
        try server.start()
        let token = try server.addGateway(name)
        let enrolled = try runFieldgate(["enroll", "--server", server.url, "--token", token], environment: environment)
        XCTAssertEqual(enrolled.status, 0, enrolled.stderr)
        return server
    }

    /// Every recording the store holds, as `list --json` gives them.
    private func rows(_ env: [String: String]) throws -> [[String: Any]] {
        let listed = try runFieldgate(["list", "--json"], environment: env)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        return try XCTUnwrap(try json(listed.stdout) as? [[String: Any]])
    }

    /// No file of a camera stored twice: one row per path on the camera.
    private func assertEachFileOnce(_ env: [String: String], camera: String, expected: Int,
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let mine = try rows(env).filter { $0["camera"] as? String == camera }
        XCTAssertEqual(mine.count, expected, "camera \(camera): one row per file", file: file, line: line)
        let sources = mine.compactMap { $0["source"] as? String }
        XCTAssertEqual(Set(sources).count, mine.count, "no file of \(camera) stored twice", file: file, line: line)
    }

    func testBaysCollectAtOnceAndAWrongPasswordIsOnlyThatBaysError() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self)
        try config(home, "[passwords.serials]\n\"A200002\" = \"nope\"\n")
        let env = ["FIELDGATE_HOME": home.path]
        let first = EmulatedModels.gat947Camera(serial: "A200001", volume: try volume("A200001", extraFiles: 100))
        let refused = EmulatedModels.gat947Camera(serial: "A200002", volume: try volume("A200002"))
        let third = EmulatedModels.gat947Camera(serial: "A200003", volume: try volume("A200003", extraFiles: 100))
        try first.dock(on: testbed)
        try third.dock(on: testbed)
        let station = try StationProcess(environment: env)
        // A camera docked while the station runs is taken too.
        try refused.dock(on: testbed)

        let error = try station.waitForBay("A200002", state: "error")
        XCTAssertTrue((error["reason"] as? String)?.contains("refused the password") == true, "\(error)")
        XCTAssertNotNil(error["nextStep"] as? String)
        XCTAssertEqual(refused.requestLog, [.auth], "nothing but AUTH reached the refused camera")
        for serial in ["A200001", "A200003"] {
            let done = try station.waitForBay(serial, state: "done")
            XCTAssertEqual(done["filesDone"] as? Int, 107, "\(done)")
            XCTAssertEqual(done["filesTotal"] as? Int, 107)
            XCTAssertEqual(done["officer"] as? String, "010203")
            XCTAssertNotNil(done["battery"] as? Int)
            XCTAssertEqual(done["bytesDone"] as? Int, done["bytesTotal"] as? Int)
            // The cards hold recordings from 2026-11-25: docked more than a day late, and counted.
            XCTAssertGreaterThan(done["lateDocking"] as? Int ?? 0, 0, "\(done)")
        }
        XCTAssertTrue(try rows(env).contains { ($0["flags"] as? String)?.contains("late-docking") == true })
        try assertEachFileOnce(env, camera: "A200001", expected: 107)
        try assertEachFileOnce(env, camera: "A200003", expected: 107)

        // The two copies overlapped in time: the bays ran at once, not one after the other.
        let collections = try runProgram("/usr/bin/python3", ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            for row in db.execute("SELECT cameraSerial, startedAt, finishedAt FROM collection WHERE newCount > 0 ORDER BY cameraSerial"):
                print("|".join(str(v) for v in row))
            """, home.appendingPathComponent("fieldgate.sqlite").path])
        let spans = collections.stdout.split(separator: "\n").map { $0.split(separator: "|").map(String.init) }
        XCTAssertEqual(spans.count, 2, collections.stdout + collections.stderr)
        if spans.count == 2 {
            XCTAssertTrue(spans[0][1] < spans[1][2] && spans[1][1] < spans[0][2], "collections overlap: \(spans)")
        }

        // `collect` typed by hand while the station runs: nothing new, nothing twice.
        let byHand = try runFieldgate(["collect", "--camera", "A200001", "--json"], environment: env)
        XCTAssertEqual(byHand.status, 0, byHand.stderr)
        let summary = try XCTUnwrap((try json(byHand.stdout) as? [[String: Any]])?.first)
        XCTAssertEqual(summary["new"] as? Int, 0)
        XCTAssertEqual(summary["alreadyCollected"] as? Int, 107)

        // Taking cameras away: a done tile goes, an error tile stays, marked undocked.
        first.undock()
        refused.undock()
        try station.waitFor("A200001's tile to go") { status in
            let bays = (status["bays"] as? [[String: Any]]) ?? []
            return !bays.contains { $0["serial"] as? String == "A200001" }
                && bays.contains { $0["serial"] as? String == "A200002" && $0["docked"] as? Bool == false }
        }
        XCTAssertEqual(station.terminate(), 0, "SIGTERM ends the station cleanly\n\(station.log)")
        XCTAssertEqual(try runFieldgate(["audit", "verify"], environment: env).status, 0)
    }

    func testACameraUndockedMidCopyIsNamedAndContinuesWhenDockedAgain() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self)
        let env = ["FIELDGATE_HOME": home.path]
        let station = try StationProcess(environment: env)
        // The copy must still be running when the camera goes: a larger card each try, if not.
        for (attempt, extra) in [150, 400, 1000].enumerated() {
            let serial = "A30000\(attempt)"
            let card = try volume(serial, extraFiles: extra, extraBytes: 256 << 10)
            let total = files(in: card)
            let camera = EmulatedModels.gat947Camera(serial: serial, volume: card)
            try camera.dock(on: testbed)
            let collecting = try station.waitFor("\(serial) collecting") { status in
                ((status["bays"] as? [[String: Any]]) ?? []).contains {
                    $0["serial"] as? String == serial && ($0["filesDone"] as? Int ?? 0) > 0 || ($0["state"] as? String == "done" && $0["serial"] as? String == serial)
                }
            }
            let tile = ((collecting["bays"] as? [[String: Any]]) ?? []).first { $0["serial"] as? String == serial } ?? [:]
            guard tile["state"] as? String == "collecting" || tile["state"] as? String == "verifying" else {
                camera.undock()
                continue  // copied before the test could act: try a larger card
            }
            // Undocked mid-copy: the card goes with the camera.
            camera.undock()
            let away = card.deletingLastPathComponent().appendingPathComponent(serial + "-away")
            try moveContents(of: card, to: away)
            let ended = try station.waitFor("\(serial) to fail or go") { status in
                let bay = ((status["bays"] as? [[String: Any]]) ?? []).first { $0["serial"] as? String == serial }
                return bay == nil || bay?["state"] as? String == "error"
            }
            let failed = ((ended["bays"] as? [[String: Any]]) ?? []).first { $0["serial"] as? String == serial } ?? [:]
            guard (failed["reason"] as? String)?.contains("undocked during the copy") == true else {
                // The copy ended between the check and the undocking: try a larger card.
                try moveContents(of: away, to: card)
                continue
            }
            XCTAssertTrue((failed["nextStep"] as? String)?.contains("dock it again") == true, "\(failed)")
            XCTAssertEqual(failed["docked"] as? Bool, false)
            let storedBefore = try rows(env).filter { $0["camera"] as? String == serial }.count
            XCTAssertGreaterThan(storedBefore, 0, "what was copied before the undocking is kept")
            XCTAssertLessThan(storedBefore, total)

            // Docked again: only the rest is copied.
            try moveContents(of: away, to: card)
            try camera.dock(on: testbed)
            let done = try station.waitForBay(serial, state: "done", timeout: 120)
            XCTAssertEqual(done["filesDone"] as? Int, total)
            XCTAssertEqual((done["newFiles"] as? Int ?? 0) + storedBefore, total, "\(done)")
            try assertEachFileOnce(env, camera: serial, expected: total)
            XCTAssertEqual(station.terminate(), 0, station.log)
            XCTAssertEqual(try runFieldgate(["audit", "verify"], environment: env).status, 0)
            return
        }
        XCTFail("every copy finished before the camera could be undocked; the test could not check anything")
    }

    func testKilledMidCollectionTheStationResumesAndStoresEachFileOnce() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self)
        let env = ["FIELDGATE_HOME": home.path]
        let card = try volume("A400001", extraFiles: 300, extraBytes: 256 << 10)
        let total = files(in: card)
        let camera = EmulatedModels.gat947Camera(serial: "A400001", volume: card)
        try camera.dock(on: testbed)
        let station = try StationProcess(environment: env)
        try station.waitFor("the copy to start") { status in
            ((status["bays"] as? [[String: Any]]) ?? []).contains { ($0["filesDone"] as? Int ?? 0) > 0 }
        }
        // A second process asking for the same camera meanwhile is told it is taken, and copies nothing.
        let byHand = try runFieldgate(["collect", "--camera", "A400001", "--json"], environment: env)
        if try station.bay("A400001")?["state"] as? String == "collecting" {
            XCTAssertEqual(byHand.status, 2, byHand.stderr)
            XCTAssertTrue(byHand.stderr.contains("being collected by another fieldgate process"), byHand.stderr)
        }
        station.kill()
        XCTAssertEqual(station.process.terminationReason, .uncaughtSignal, "killed by SIGKILL")
        let stored = try rows(env).count

        // Started again: the camera (now in storage mode, still docked) is taken up where it was.
        let again = try StationProcess(environment: env)
        let done = try again.waitForBay("A400001", state: "done", timeout: 120)
        XCTAssertEqual(done["filesDone"] as? Int, total)
        XCTAssertEqual(done["alreadyStored"] as? Int, stored, "what the killed station committed is not copied again")
        try assertEachFileOnce(env, camera: "A400001", expected: total)
        XCTAssertEqual(again.terminate(), 0, again.log)
        let audit = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    func testKilledMidSyncTheStationResumesAndTheServerHoldsEachBlobOnce() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let work = try temporaryFolder(self)
        let home = work.appendingPathComponent("gateway")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let env = ["FIELDGATE_HOME": home.path]
        let server = try enrolledServer("station-1", data: work.appendingPathComponent("server"), environment: env)
        defer { server.stop() }
        // Slow uploads, so the kill lands while a blob is part sent.
        try config(home, "limit_rate = \"1M\"\n")
        // Recordings of 8 MiB: sent a 1 MiB piece a second, so one is part sent for seconds.
        let card = try volume("A700001", extraFiles: 2, extraBytes: 8 << 20)
        let total = files(in: card)
        let camera = EmulatedModels.gat947Camera(serial: "A700001", volume: card)
        try camera.dock(on: testbed)
        let station = try StationProcess(environment: env)
        try station.waitForBay("A700001", state: "done")
        // Killed once the server holds part of an upload (its partial file under uploads/).
        let uploads = server.data.appendingPathComponent("uploads")
        let deadline = Date().addingTimeInterval(60)
        func partSent() -> Bool {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: uploads.path)) ?? []
            return names.contains { name in
                let attributes = try? FileManager.default.attributesOfItem(atPath: uploads.appendingPathComponent(name).path)
                return ((attributes?[.size] as? NSNumber)?.intValue ?? 0) > 256 << 10
            }
        }
        while Date() < deadline && !partSent() { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(partSent(), "an upload was under way when the station was killed")
        let before = try XCTUnwrap(try station.status()["sync"] as? [String: Any])
        XCTAssertLessThan(before["receipted"] as? Int ?? total, total, "killed before everything was receipted")
        station.kill()
        XCTAssertEqual(station.process.terminationReason, .uncaughtSignal, "killed by SIGKILL")
        XCTAssertEqual(files(in: card), total, "nothing left the camera without its receipt")

        // Started again at full speed: the uploads resume, everything is receipted once and the
        // camera is freed.
        try config(home, "")
        let again = try StationProcess(environment: env)
        let freed = try again.waitForBay("A700001", state: "freed", timeout: 120)
        XCTAssertEqual(freed["freedFiles"] as? Int, total, "\(freed)")
        let after = try XCTUnwrap(try again.status()["sync"] as? [String: Any])
        XCTAssertEqual(after["receipted"] as? Int, total)
        XCTAssertEqual(after["pending"] as? Int, 0)
        XCTAssertEqual(again.terminate(), 0, again.log)
        let hashes = Set(try rows(env).compactMap { $0["sha256"] as? String })
        let held = (FileManager.default.enumerator(atPath: server.data.appendingPathComponent("blobs/sha256").path)?.allObjects as? [String] ?? [])
            .compactMap { $0.split(separator: "/").last.map(String.init) }.filter { $0.count == 64 }
        XCTAssertEqual(Set(held), hashes, "the server holds every blob")
        XCTAssertEqual(held.count, hashes.count, "and each once")
        let audit = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    func testSIGTERMDuringALongCopyEndsWithinTheStopTimeoutAndTheCopyResumes() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let home = try temporaryFolder(self)
        let env = ["FIELDGATE_HOME": home.path]
        let card = try volume("A800001")
        // One long recording: a copy that cannot end within the stop timeout.
        let long = card.appendingPathComponent("DCIM/A800001_010203_20261125120000_0999.MP4")
        XCTAssertTrue(FileManager.default.createFile(atPath: long.path, contents: nil))
        XCTAssertEqual(truncate(long.path, 3 << 30), 0)
        let total = files(in: card)
        let camera = EmulatedModels.gat947Camera(serial: "A800001", volume: card)
        try camera.dock(on: testbed)
        let stopTimeout = 2.0
        let station = try StationProcess(environment: env, arguments: ["--stop-timeout", String(stopTimeout), "--no-sync"])
        try station.waitFor("the long copy to be under way") { status in
            ((status["bays"] as? [[String: Any]]) ?? []).contains { ($0["bytesDone"] as? Int ?? 0) > 64 << 20 }
        }
        let signalled = Date()
        // The bound here is generous (a loaded machine); the station's own bound is the stop timeout.
        XCTAssertEqual(station.terminate(timeout: stopTimeout + 20), 0, "SIGTERM ends the station by itself, status 0\n\(station.log)")
        let took = Date().timeIntervalSince(signalled)
        XCTAssertTrue(station.log.contains("stop timeout: abandoning the work in flight") || took < stopTimeout,
                      "the copy in hand was abandoned at the stop timeout (took \(took) s)\n\(station.log)")

        let again = try StationProcess(environment: env, arguments: ["--no-sync"])
        let done = try again.waitForBay("A800001", state: "done", timeout: 300)
        XCTAssertEqual(done["filesDone"] as? Int, total)
        XCTAssertEqual(again.terminate(), 0, again.log)
        try assertEachFileOnce(env, camera: "A800001", expected: total)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("tmp").path), [],
                       "the abandoned copy's staged file is gone")
        let audit = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
    }

    func testBackgroundSyncReceiptsEverythingOnceTheServerIsBackAndFreesTheDockedCamera() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let work = try temporaryFolder(self)
        let home = work.appendingPathComponent("gateway")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let env = ["FIELDGATE_HOME": home.path]
        let server = try enrolledServer("station-1", data: work.appendingPathComponent("server"), environment: env)
        let port = server.port
        // The server is down when the shift ends: the station collects anyway.
        server.stop()

        let card = try volume("A500001", extraFiles: 5)
        let total = files(in: card)
        let camera = EmulatedModels.gat947Camera(serial: "A500001", volume: card)
        try camera.dock(on: testbed)
        let station = try StationProcess(environment: env)
        try station.waitForBay("A500001", state: "done")
        let down = try station.waitFor("the server seen unreachable") { status in
            (status["sync"] as? [String: Any])?["serverReachable"] as? Bool == false
        }
        let sync = try XCTUnwrap(down["sync"] as? [String: Any])
        XCTAssertEqual(sync["receipted"] as? Int, 0)
        XCTAssertEqual(sync["pending"] as? Int, total)
        XCTAssertEqual(files(in: card), total, "nothing leaves the camera before its receipt")

        // The server comes back: everything is receipted without anyone typing `sync`, and the
        // camera, still docked, is freed.
        try server.start(port: port)
        let freed = try station.waitForBay("A500001", state: "freed", timeout: 120)
        XCTAssertEqual(freed["freedFiles"] as? Int, total, "\(freed)")
        XCTAssertEqual(files(in: card), 0, "every receipted file deleted from the camera")
        let after = try XCTUnwrap(try station.status()["sync"] as? [String: Any])
        XCTAssertEqual(after["receipted"] as? Int, total)
        XCTAssertEqual(after["retainedOnlineRate"] as? Double, 1.0)
        XCTAssertEqual(after["serverReachable"] as? Bool, true)
        XCTAssertEqual(station.terminate(), 0, station.log)
        server.stop()

        let receipts = try runFieldgate(["receipts", "--json"], environment: env)
        XCTAssertEqual(receipts.status, 0, receipts.stderr)
        let custody = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertEqual(custody.status, 0, custody.stdout + custody.stderr)
        let wiped = try runProgram("/usr/bin/python3", ["-c", """
            import sqlite3, sys
            print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM recording WHERE wipedAt IS NOT NULL").fetchone()[0])
            """, home.appendingPathComponent("fieldgate.sqlite").path])
        XCTAssertEqual(wiped.stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(total), "each deletion recorded")
    }

    func testOnASmallDiskReceiptedCopiesMakeRoomAndNothingUnreceiptedIsEverRemoved() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let work = try temporaryFolder(self)
        // The store on a 48 MB disk that keeps 16 MB free; four shifts of about 10 MB each.
        let disk = try SmallDisk(bytes: 48 << 20, test: self)
        let home = disk.folder.appendingPathComponent("gateway")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try config(home, "keep_free = \"16M\"\n")
        let env = ["FIELDGATE_HOME": home.path]
        let server = try enrolledServer("small-station", data: work.appendingPathComponent("server"), environment: env)
        defer { server.stop() }
        let station = try StationProcess(environment: env)
        var expected = 0
        for shift in 1...4 {
            let serial = "A70000\(shift)"
            let card = try volume(serial, extraFiles: 10)
            expected += files(in: card)
            let camera = EmulatedModels.gat947Camera(serial: serial, volume: card)
            try camera.dock(on: testbed)
            // Receipted, so freed from the camera; the next shift needs the room.
            try station.waitForBay(serial, state: "freed", timeout: 120)
            camera.undock()
        }
        XCTAssertEqual(try rows(env).count, expected, "every shift collected\n\(station.log)")
        XCTAssertTrue(station.log.contains("made room"), station.log)
        XCTAssertEqual(station.terminate(), 0, station.log)

        let audit = try runFieldgate(["audit", "verify", "--json"], environment: env)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        let report = try XCTUnwrap(try json(audit.stdout) as? [String: Any])
        let held = try XCTUnwrap(report["heldByServer"] as? Int)
        XCTAssertGreaterThan(held, 0, "some local copies were removed to make room")
        let text = try runFieldgate(["audit", "verify"], environment: env)
        XCTAssertTrue(text.stdout.contains("\(held) held by the server per receipt"), text.stdout)
        // Only receipted, non-important copies were removed, each with its custody event.
        let removed = try runProgram("/usr/bin/python3", ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            rows = db.execute(\"\"\"SELECT r.id, r.important, s.state, (SELECT COUNT(*) FROM custodyEvent e
                WHERE e.recordingId = r.id AND e.kind = 'local-copy-removed') FROM recording r
                JOIN syncItem s ON s.kind = 'recording' AND s.sourceId = r.id WHERE r.localCopyRemovedAt IS NOT NULL\"\"\").fetchall()
            for row in rows: print("|".join(str(v) for v in row))
            """, home.appendingPathComponent("fieldgate.sqlite").path])
        let lines = removed.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, held, removed.stdout + removed.stderr)
        for line in lines {
            let fields = line.split(separator: "|")
            XCTAssertEqual(fields[1], "0", "an important recording's copy is kept: \(line)")
            XCTAssertEqual(fields[2], "receipted", "only a receipted copy is removed: \(line)")
            XCTAssertEqual(fields[3], "1", "each removal is a custody event: \(line)")
        }
    }

    func testOutsideItsUploadWindowTheStationCollectsButUploadsNothing() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let work = try temporaryFolder(self)
        let home = work.appendingPathComponent("gateway")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        // A window that starts two hours from now (UTC) and lasts one: now is outside it.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let hour = calendar.component(.hour, from: Date())
        let window = String(format: "%02d:00-%02d:00", (hour + 2) % 24, (hour + 3) % 24)
        try config(home, "time_zone = \"UTC\"\nupload_windows = [\"\(window)\"]\n")
        let env = ["FIELDGATE_HOME": home.path]
        let server = try enrolledServer("windowed", data: work.appendingPathComponent("server"), environment: env)
        defer { server.stop() }
        let card = try volume("A800001")
        let camera = EmulatedModels.gat947Camera(serial: "A800001", volume: card)
        try camera.dock(on: testbed)
        let station = try StationProcess(environment: env)
        try station.waitForBay("A800001", state: "done")
        try station.waitFor("the window to be seen closed") { status in
            (status["sync"] as? [String: Any])?["inUploadWindow"] as? Bool == false
        }
        Thread.sleep(forTimeInterval: 3)  // several sync intervals: still nothing may go
        let sync = try XCTUnwrap(try station.status()["sync"] as? [String: Any])
        XCTAssertEqual(sync["receipted"] as? Int, 0)
        XCTAssertEqual(sync["pending"] as? Int, files(in: card))
        XCTAssertEqual(try server.metric("fieldgate_batches_committed_total"), 0, "nothing reached the server")
        XCTAssertEqual(station.terminate(), 0, station.log)
    }

    func testStatusAnswersJSONAndThePageServesItsLabels() throws {
        _ = try emulationTestbed()
        let home = try temporaryFolder(self)
        let station = try StationProcess(environment: ["FIELDGATE_HOME": home.path])
        let status = try station.status()
        XCTAssertEqual((status["bays"] as? [Any])?.count, 0)
        let sync = try XCTUnwrap(status["sync"] as? [String: Any])
        for key in ["pending", "receipted", "retainedOnlineRate", "serverReachable"] { XCTAssertTrue(sync.keys.contains(key), key) }
        XCTAssertEqual(sync["enrolled"] as? Bool, false)
        // A registered camera never docked here is listed as silent.
        XCTAssertEqual(try runFieldgate(["camera", "register", "A999999"], environment: ["FIELDGATE_HOME": home.path]).status, 0)
        let silent = try station.waitFor("the silent camera") { status in
            ((status["silentCameras"] as? [[String: Any]]) ?? []).contains { $0["serial"] as? String == "A999999" }
        }
        XCTAssertTrue(((silent["warnings"] as? [String]) ?? []).contains { $0.contains("not docked for more than 3 day(s)") }, "\(silent)")
        let page = try station.get("/")
        XCTAssertTrue(page.stdout.contains("/api/status"), "the page polls the status API")
        let labels = try XCTUnwrap(try json(try station.get("/api/labels").stdout) as? [String: [String: String]])
        XCTAssertEqual(labels["state.done"]?["zh"], "完成 — 可以拔出")
        XCTAssertEqual(labels["state.done"]?["en"], "Done — safe to undock")
        XCTAssertEqual(try station.get("/../../etc/passwd").status, 22, "unknown paths are 404, nothing outside is served")
        let post = try runProgram("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", station.url + "/api/status"])
        XCTAssertEqual(post.stdout, "405")

        let watch = try runFieldgate(["status", "--watch", "--station", station.url, "--count", "2", "--json"],
                                     environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(watch.status, 0, watch.stderr)
        let lines = watch.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, watch.stdout)
        XCTAssertNotNil(try json(String(lines[0])) as? [String: Any])
        XCTAssertEqual(station.terminate(), 0, station.log)
        let nothing = try runFieldgate(["status", "--watch", "--station", station.url, "--count", "1"],
                                       environment: ["FIELDGATE_HOME": home.path])
        XCTAssertEqual(nothing.status, 1)
        XCTAssertTrue(nothing.stderr.contains("no station answers"), nothing.stderr)
    }

    /// The status page in a real browser: headless Chromium, driven by Selenium, reads the tiles
    /// from the page as one camera goes from collecting to done and another to an error.
    func testThePageShowsBaysGoingFromCollectingToDoneAndOneToErrorInABrowser() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: `bash .ci/setup` installs it")
        }
        let home = try temporaryFolder(self)
        try config(home, "[passwords.serials]\n\"A600002\" = \"nope\"\n")
        let station = try StationProcess(environment: ["FIELDGATE_HOME": home.path])
        let artifacts = URL(fileURLWithPath: ProcessInfo.processInfo.environment["FIELDGATE_TEST_ARTIFACTS"]
            ?? repositoryRoot.appendingPathComponent(".build/test-artifacts").path)
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        for (index, language) in ["zh-CN", "en-US"].enumerated() {
            let serials = ["A60000\(2 * index + 1)", "A600002"]
            let expected = index == 0 ? "{\"\(serials[0])\": [\"collecting\", \"done\"], \"A600002\": [\"error\"]}"
                : "{\"\(serials[0])\": [\"collecting\", \"done\"]}"
            let browser = Process()
            browser.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            browser.arguments = [repositoryRoot.appendingPathComponent("Tests/CLITests/station_page.py").path, station.url, expected,
                                 artifacts.appendingPathComponent("station-page-\(language)").path, language]
            // The browser is no emulated device: it runs without umockdev's preload.
            browser.environment = ProcessInfo.processInfo.environment.merging(["LD_PRELOAD": ""]) { $1 }
            let out = Pipe()
            browser.standardOutput = out
            browser.standardError = FileHandle.standardError
            try browser.run()
            let output = LineReader(out.fileHandleForReading)
            XCTAssertTrue(output.waitFor("ready", timeout: 90), "the browser did not open the page: \(output.text)")
            // Docked while the page watches: a card large enough that the copy is seen running.
            let camera = EmulatedModels.gat947Camera(serial: serials[0], volume: try volume(serials[0], extraFiles: 300, extraBytes: 1 << 20))
            try camera.dock(on: testbed)
            var refused: EmulatedGAT947Camera?
            if index == 0 {
                refused = EmulatedModels.gat947Camera(serial: "A600002", volume: try volume("A600002"))
                try refused?.dock(on: testbed)
            }
            XCTAssertTrue(waitForExit(browser, timeout: 300), "the browser script did not end")
            let text = output.text
            XCTAssertEqual(browser.terminationStatus, 0, "the page did not show the expected tiles:\n\(text)\n\(station.log)")
            XCTAssertTrue(text.contains(index == 0 ? "title: 执法记录仪采集站" : "title: Body camera docking station"), text)
            if index == 0 {
                XCTAssertTrue(text.contains("refused the password"), "the error tile says why: \(text)")
            }
            for size in ["800x480", "1366x768"] {
                let shot = artifacts.appendingPathComponent("station-page-\(language)-\(size).png")
                let bytes = (try? Data(contentsOf: shot)) ?? Data()
                XCTAssertEqual(Array(bytes.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG screenshot at \(shot.path)")
            }
            camera.undock()
            refused?.undock()
        }
        XCTAssertEqual(station.terminate(), 0, station.log)
    }
}

/// Collects a child's output as it comes, so a test can wait for a line.
final class LineReader: @unchecked Sendable {
    private let lock = NSLock()
    private var collected = ""

    init(_ handle: FileHandle) {
        DispatchQueue.global().async { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                lock.withLock { collected += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }

    var text: String { lock.withLock { collected } }

    func waitFor(_ line: String, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.split(separator: "\n").contains(where: { $0 == line }) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}
