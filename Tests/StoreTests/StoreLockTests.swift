import Foundation
import Store
import TestSupport
import XCTest

final class StoreLockTests: XCTestCase {
    func testACameraIsTakenByOneHolderAtATimeAndFreedWhenReleased() throws {
        let store = try EvidenceStore(home: try temporaryFolder(self))
        let held = try XCTUnwrap(try store.tryLock(.camera(serial: "A123456")))
        XCTAssertNil(try store.tryLock(.camera(serial: "A123456")), "a second holder in the same process is refused")
        XCTAssertNotNil(try store.tryLock(.camera(serial: "A654321")), "another camera is free")
        XCTAssertNotNil(try store.tryLock(.sync), "the sync is a lock of its own")
        held.release()
        XCTAssertNotNil(try store.tryLock(.camera(serial: "A123456")), "free again once released")
    }

    func testAHostileSerialNamesAFileInsideTheLocksFolder() throws {
        let home = try temporaryFolder(self)
        let store = try EvidenceStore(home: home)
        let hostile = "../../etc/x\u{0}y/.."
        let held = try XCTUnwrap(try store.tryLock(.camera(serial: hostile)))
        let names = try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("locks").path)
        XCTAssertEqual(names, ["camera-" + Array(hostile.utf8).map { String(format: "%02x", $0) }.joined() + ".lock"])
        XCTAssertNil(try store.tryLock(.camera(serial: hostile)))
        held.release()
    }

    func testAnotherProcessHoldingTheLockIsSeenAndItsDeathFreesIt() throws {
        let home = try temporaryFolder(self)
        let store = try EvidenceStore(home: home)
        _ = try XCTUnwrap(try store.tryLock(.sync)).release()
        // Another process holds the same file's lock, as a second fieldgate would.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = ["-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(60)",
                            home.appendingPathComponent("locks/sync.lock").path]
        try holder.run()
        let deadline = Date().addingTimeInterval(10)
        var refused = false
        while Date() < deadline {
            if try store.tryLock(.sync) == nil { refused = true; break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertTrue(refused, "the lock another process holds is refused")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        XCTAssertNotNil(try store.tryLock(.sync), "a killed holder leaves no lock behind")
    }
}
