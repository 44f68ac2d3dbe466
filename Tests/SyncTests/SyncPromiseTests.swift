import AsyncHTTPClient
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store
import Sync
import TestSupport
import USBEmulation
import XCTest

/// The README's promises about sync that a user relies on, each through the path a user takes:
/// `fieldgate` processes against a `fieldgate-server` child process over loopback HTTP.
extension SyncEndToEndTests {
    /// Writes `names` (relative paths) as files of distinct random bytes under a fresh volume and
    /// collects it as camera `serial`.
    func collectFiles(_ names: [String], serial: String = "A123456") throws -> URL {
        let volume = work.appendingPathComponent("files-\(serial)-\(UUID().uuidString)")
        for (index, name) in names.enumerated() {
            let url = volume.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data((0..<(4096 + index)).map { _ in UInt8.random(in: 0...255) }).write(to: url)
        }
        let result = try fieldgate(["collect", "--from", volume.path, "--camera", serial, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return volume
    }

    func testImportantRecordingsAreSyncedFirstThenTheOldest() throws {
        try enroll()
        // Walked (and so stored) in path order A, B, C, D; taken at 10:00, 08:00, 12:00 (important), 09:00.
        _ = try collectFiles(["A/A123456_100001_20261125100000_0001.MP4", "B/A123456_100001_20261125080000_0002.MP4",
                              "C/A123456_100001_20261125120000_0003_IMP.MP4", "D/A123456_100001_20261125090000_0004.MP4"])
        let result = try fieldgate(["sync", "--json", "--batch-size", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try summary(result)["batches"] as? Int, 4)
        let store = try EvidenceStore(home: home)
        let names = Dictionary(uniqueKeysWithValues: try store.recordings().compactMap { recording in recording.id.map { ($0, recording.sourceName) } })
        let order = try store.custodyEvents().filter { $0.kind == .uploaded }.compactMap { $0.recordingId.flatMap { names[$0] } }
        XCTAssertEqual(order.map { String($0.prefix(1)) }, ["C", "B", "D", "A"], "\(order)")
    }

    func testLimitRateCapsTheUploadRateExactly() async throws {
        try enroll()
        _ = try collectSample(videos: 1, extra: [3 << 20])
        let store = try EvidenceStore(home: home)
        let clock = ManualClock()
        var options = SyncOptions()
        options.limitRate = 1 << 20
        options.chunkSize = 1 << 20
        options.clock = clock
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let summary: SyncSummary
        do {
            summary = try await SyncClient(store: store, client: client).sync(options: options)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
        XCTAssertTrue(summary.isComplete, "\(summary)")
        let sent = Double(summary.sentBytes)
        XCTAssertGreaterThan(sent, Double(3 << 20))
        // The clock moves only while the limiter waits: at 1 MiB/s after a quarter second of credit,
        // the bytes sent took exactly (bytes - burst) / rate of waiting, never less.
        let burst = Double(RateLimiter(bytesPerSecond: 1 << 20).burstBytes)
        XCTAssertEqual(burst, Double(1 << 18))
        XCTAssertEqual(clock.elapsedSeconds, (sent - burst) / Double(1 << 20), accuracy: 1e-6)
        XCTAssertEqual(try server.metric("fieldgate_upload_bytes_received_total"), sent)
    }

    func testBackoffDoublesUpToTheCapWithJitterBelowIt() async throws {
        try enroll()
        _ = try collectSample(videos: 1)
        // A server that answers every request 503 at once: a failure worth retrying, with no connect timeout to wait out.
        let unavailable = try UnavailableServer()
        defer { unavailable.stop() }
        let store = try EvidenceStore(home: home)
        let url = unavailable.url
        try await store.database.write { db in try db.execute(sql: "UPDATE syncEnrolment SET serverURL = ?", arguments: [url]) }
        let schedules: [(jitter: @Sendable (ClosedRange<Double>) -> Double, waits: [Double])] = [
            ({ $0.upperBound }, [0.25, 0.5, 1, 1]), ({ $0.lowerBound }, [0.125, 0.25, 0.5, 0.5])]
        for (jitter, expected) in schedules {
            let clock = ManualClock()
            var options = SyncOptions()
            options.retry = RetryPolicy(attempts: 5, base: 0.25, cap: 1, clock: clock, jitter: jitter)
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            let summary = try? await SyncClient(store: store, client: client).sync(options: options)
            try await client.shutdown()
            XCTAssertEqual(clock.sleeps, expected, "four waits between five tries of the manifest")
            XCTAssertEqual(unavailable.requests, 5 * (expected == schedules[0].waits ? 1 : 2))
            XCTAssertTrue(summary?.stoppedBecause?.contains("after 5 tries") == true, "\(String(describing: summary))")
        }
        // Random jitter stays within [ceiling / 2, ceiling] of each retry.
        let policy = RetryPolicy(attempts: 8)
        for retry in 0..<10 {
            let delay = policy.delay(beforeRetry: retry)
            XCTAssertGreaterThanOrEqual(delay, policy.ceiling(beforeRetry: retry) / 2)
            XCTAssertLessThanOrEqual(delay, policy.ceiling(beforeRetry: retry))
        }
        XCTAssertEqual((0..<7).map(policy.ceiling(beforeRetry:)), [0.25, 0.5, 1, 2, 4, 8, 8])
    }

    func testRetryRefusedSendsARestoredCopyAgain() throws {
        try enroll()
        let count = try collectSample()
        let store = try EvidenceStore(home: home)
        let victim = try XCTUnwrap(try store.recordings().first { $0.mediaType == .photo })
        let path = store.blobs.path(of: victim.sha256).path
        chmod(path, 0o644)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        var damaged = original
        damaged[damaged.count / 2] ^= 0xFF
        try damaged.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try fieldgate(["sync"]).status, 2)
        XCTAssertEqual(try syncStatus().refused, 1)

        try original.write(to: URL(fileURLWithPath: path))
        // Without the flag a refused item stays refused.
        let plain = try fieldgate(["sync", "--json"])
        XCTAssertEqual(plain.status, 2, plain.stderr)
        XCTAssertEqual(try syncStatus().refused, 1)
        let again = try fieldgate(["sync", "--json", "--retry-refused"])
        XCTAssertEqual(again.status, 0, again.stderr + again.stdout)
        XCTAssertEqual(try summary(again)["receipted"] as? Int, 1)
        let status = try syncStatus()
        XCTAssertEqual(status.refused, 0)
        XCTAssertEqual(status.receipted, count)
        XCTAssertEqual(try store.custodyEvents(recordingId: victim.id).map(\.kind).suffix(3), [.uploadRefused, .uploaded, .receipted])
    }

    func testReceiptsExitsOneWhenAKeptReceiptNoLongerVerifies() throws {
        try enroll()
        _ = try collectSample()
        XCTAssertEqual(try fieldgate(["sync"]).status, 0)
        XCTAssertEqual(try fieldgate(["receipts"]).status, 0)
        let store = try EvidenceStore(home: home)
        try store.database.write { db in
            let payload = try XCTUnwrap(try Data.fetchOne(db, sql: "SELECT receiptPayload FROM syncBatch"))
            var altered = payload
            // One byte of what the server signed, changed.
            altered[altered.count / 2] ^= 0x01
            try db.execute(sql: "UPDATE syncBatch SET receiptPayload = ?", arguments: [altered])
        }
        let human = try fieldgate(["receipts"])
        XCTAssertEqual(human.status, 1, human.stdout)
        XCTAssertTrue(human.stdout.contains("BAD: "), human.stdout)
        let json = try fieldgate(["receipts", "--json"])
        XCTAssertEqual(json.status, 1)
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.first?["verified"] as? Bool, false)
    }

    func testEnrollingAgainReplacesTheEnrolment() throws {
        let first = try summary(try fieldgate(["enroll", "--server", server.url, "--token", try server.addGateway("team-1"), "--json"]))
        let second = try summary(try fieldgate(["enroll", "--server", server.url, "--token", try server.addGateway("team-2"), "--json"]))
        let firstId = try XCTUnwrap(first["gatewayId"] as? String), secondId = try XCTUnwrap(second["gatewayId"] as? String)
        XCTAssertNotEqual(firstId, secondId)
        XCTAssertEqual(try EvidenceStore(home: home).enrolment()?.gatewayId, secondId)
        // The old gateway's revocation does not touch the new enrolment: sync goes as team-2.
        XCTAssertEqual(try server.runServerCommand(["gateways", "revoke", "team-1", "--data", server.data.path]).status, 0)
        let count = try collectSample()
        let result = try fieldgate(["sync", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try summary(result)["receipted"] as? Int, count)
    }

    func testAfterReceiptTheNextCollectDeletesTheReceiptedFilesFromTheCamera() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        try enroll()
        let volume = work.appendingPathComponent("camera-volume")
        let files = try SampleRecordings.writeVolume(at: volume, cameraSerial: "A135790", officerNumber: "100001",
                                                     start: "20261125083000", oddFiles: false)
        let camera = EmulatedModels.gat947Camera(serial: "A135790", volume: volume)
        try camera.dock(on: testbed)
        let first = try fieldgate(["collect", "--all", "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        // Collected but not yet receipted: the default policy leaves every file on the camera.
        let again = try fieldgate(["collect", "--camera", "A135790", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [[String: Any]])?.first?["wiped"] as? Int, 0)
        for file in files { XCTAssertTrue(FileManager.default.fileExists(atPath: volume.appendingPathComponent(file).path), file) }

        XCTAssertEqual(try fieldgate(["sync"]).status, 0)
        let freed = try fieldgate(["collect", "--camera", "A135790", "--json"])
        XCTAssertEqual(freed.status, 0, freed.stderr)
        let summaries = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(freed.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(summaries.first?["wiped"] as? Int, files.count)
        for file in files { XCTAssertFalse(FileManager.default.fileExists(atPath: volume.appendingPathComponent(file).path), file) }
        let store = try EvidenceStore(home: home)
        for recording in try store.recordings() {
            XCTAssertEqual(try store.custodyEvents(recordingId: recording.id).map(\.kind).last, .wiped, recording.sourceName)
        }
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)
    }
}

/// A clock that moves only when something sleeps on it, by exactly the time asked for.
final class ManualClock: SyncClock, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Duration = .zero
    private var slept: [Duration] = []

    func now() -> Duration { lock.withLock { current } }

    func sleep(for duration: Duration) async throws {
        lock.withLock {
            current += duration
            slept.append(duration)
        }
    }

    /// Every sleep so far, in seconds.
    var sleeps: [Double] { lock.withLock { slept.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } } }

    var elapsedSeconds: Double { lock.withLock { Double(current.components.seconds) + Double(current.components.attoseconds) / 1e18 } }
}

/// An HTTP server on loopback that answers every request 503 (Python's standard library), counting them.
final class UnavailableServer: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    let url: String

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", """
            import http.server, sys
            class Unavailable(http.server.BaseHTTPRequestHandler):
                def answer(self):
                    print("request", flush=True)
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                do_GET = do_POST = do_HEAD = do_PATCH = answer
                def log_message(self, *arguments):
                    pass
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """]
        process.standardOutput = output
        try process.run()
        let text = readUntil(output.fileHandleForReading, timeout: 20) { $0.contains("\n") }
        guard text.contains("\n") else { throw XCTSkipFailure("the 503 server did not start") }
        url = "http://127.0.0.1:" + text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Requests answered so far.
    var requests: Int {
        let reader = output.fileHandleForReading
        // Non-blocking: what the server printed so far.
        let flags = fcntl(reader.fileDescriptor, F_GETFL)
        _ = fcntl(reader.fileDescriptor, F_SETFL, flags | O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let read = Glibc.read(reader.fileDescriptor, &buffer, buffer.count)
            if read <= 0 { break }
            pending += String(decoding: buffer.prefix(read), as: UTF8.self)
        }
        return pending.components(separatedBy: "request\n").count - 1
    }

    private var pending = ""

    /// SIGKILL: a child may inherit SIGTERM blocked from the thread that started it.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
