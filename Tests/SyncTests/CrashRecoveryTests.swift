import Common
import Crypto
import Foundation
import GRDB
import Server
import Store
import TestSupport
import XCTest

/// The server dies (SIGKILL, at a named step or at random) or the gateway does, while evidence
/// syncs; after each death the sync carries on, and in the end every item is receipted exactly
/// once and nothing receipted is missing from the server.
extension SyncEndToEndTests {
    /// Writes one file of random bytes per size, named so that they sync in the order given
    /// (oldest first), and collects them as camera `serial`. Returns their total size.
    @discardableResult
    func collectRandomFiles(_ sizes: [Int], serial: String, hour: Int = 9) throws -> Int64 {
        let volume = work.appendingPathComponent("crash-\(serial)-\(UUID().uuidString)")
        let folder = volume.appendingPathComponent("DCIM")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, size) in sizes.enumerated() {
            let name = "\(serial)_100001_20261125\(String(format: "%02d%02d%02d", hour, index / 60, index % 60))_\(String(format: "%04d", index + 1)).MP4"
            var bytes = [UInt8](repeating: 0, count: size)
            var generator = SystemRandomNumberGenerator()
            bytes.withUnsafeMutableBytes { raw in
                for offset in stride(from: 0, to: raw.count - 7, by: 8) {
                    raw.storeBytes(of: generator.next() as UInt64, toByteOffset: offset, as: UInt64.self)
                }
            }
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
        let result = try fieldgate(["collect", "--from", volume.path, "--camera", serial, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return Int64(sizes.reduce(0, +))
    }

    /// Starts `fieldgate sync` (JSON output to a pipe drained in the background).
    func startSync(_ extra: [String] = []) throws -> Process {
        let process = Process()
        process.executableURL = builtBinary("fieldgate")
        process.arguments = ["sync", "--json", "--home", home.path] + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    func wait(for process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }

    /// Everything collected is receipted, each item exactly once, the gateway's audit is intact,
    /// and every blob a receipt names is held by the server with exactly the bytes of its hash.
    func assertEverythingReceiptedOnceAndStored(file: StaticString = #filePath, line: UInt = #line) throws {
        let store = try EvidenceStore(home: home)
        let recordings = try store.recordings()
        let status = try syncStatus()
        XCTAssertEqual(status.receipted, recordings.count, "every item receipted", file: file, line: line)
        XCTAssertEqual(status.pending + status.uploading + status.uploaded + status.refused, 0, file: file, line: line)
        let receiptedEvents = try store.custodyEvents().filter { $0.kind == .receipted }
        let perRecording = Dictionary(grouping: receiptedEvents.compactMap(\.recordingId), by: { $0 }).mapValues(\.count)
        XCTAssertEqual(perRecording.count, recordings.count, file: file, line: line)
        XCTAssertEqual(Set(perRecording.values), [1], "each item receipted exactly once", file: file, line: line)
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0, "audit verify", file: file, line: line)

        let serverDatabase = try DatabaseQueue(path: server.data.appendingPathComponent("server.sqlite").path)
        let receipted = try serverDatabase.read { db in
            try String.fetchAll(db, sql: """
                SELECT DISTINCT batchItem.sha256 FROM batchItem JOIN batch ON batch.id = batchItem.batchId
                WHERE batch.state = 'committed' AND NOT batchItem.withdrawn
                """)
        }
        let held = Set(try serverDatabase.read { db in try String.fetchAll(db, sql: "SELECT sha256 FROM blob") })
        XCTAssertEqual(Set(receipted), Set(recordings.map(\.sha256)), file: file, line: line)
        for sha256 in receipted {
            XCTAssertTrue(held.contains(sha256), "receipted \(sha256) is recorded as held", file: file, line: line)
            let blob = server.data.appendingPathComponent("blobs/sha256/\(sha256.prefix(2))/\(sha256)")
            XCTAssertEqual(try Data(contentsOf: blob).sha256Hex, sha256, "receipted \(sha256) is stored intact", file: file, line: line)
        }
    }

    /// Each step of upload → complete → commit, the server killed there (SIGKILL): after the
    /// restart the sync that was running finishes, or one more does, with everything receipted.
    /// The large blob goes first, in three 1 MiB chunks, so `@3` is its last chunk: the crash
    /// after the last chunk's offset was recorded and before the blob was (issue 11, item 1).
    func testTheServerKilledAtEachStepOfUploadCompleteAndCommitRecovers() throws {
        try enroll()
        let port = server.port
        // `migrated-blob` belongs to `migrate`, which `serve` never reaches (MigrationTests kills there).
        let deaths: [(FaultPoint, Int)] = FaultPoint.allCases.filter { $0 != .migratedBlob }.map { ($0, 1) }
            + [(.chunkSynced, 3), (.offsetRecorded, 3), (.offsetRecorded, 4), (.blobStored, 2)]
        for (round, (point, count)) in deaths.enumerated() {
            let setting = "\(point.rawValue)@\(count)"
            try collectRandomFiles([3 << 20, 5000, 7000], serial: "B\(String(format: "%06d", round))")
            server.kill()
            server.environment = [FaultPoint.environmentVariable: setting]
            try server.start(port: port)
            let sync = try startSync(["--parallel", "1", "--chunk-size", "1M"])
            XCTAssertTrue(server.waitForDeath(timeout: 60), "\(setting): the server reached its fault point")
            server.environment = [:]
            try server.start(port: port)
            XCTAssertTrue(wait(for: sync, timeout: 120), "\(setting): the sync running at the crash ends")
            let again = try fieldgate(["sync", "--json"])
            XCTAssertEqual(again.status, 0, "\(setting): " + again.stdout + again.stderr)
            try assertEverythingReceiptedOnceAndStored()
        }
    }
}

extension Data {
    var sha256Hex: String { SHA256.hash(data: self).hexString }
}
