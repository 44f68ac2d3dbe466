import Collect
import Devices
import Evidence
import Foundation
import Store
import TestSupport
import USBEmulation
import XCTest

final class CollectorTests: XCTestCase {
    private func makeStore(_ home: URL? = nil) throws -> EvidenceStore {
        try EvidenceStore(home: home ?? temporaryFolder(self).appendingPathComponent("home"))
    }

    private func officers(_ store: EvidenceStore) throws {
        try store.save(officers: [
            Officer(number: "010203", name: "张伟", certificateNumber: "1", certificateStatus: .valid),
            Officer(number: "030405", name: "王强", certificateNumber: "3", certificateStatus: .revoked),
            Officer(number: "040506", name: "赵敏", certificateNumber: "4", certificateStatus: .valid, certificateExpires: "2024-01-31"),
        ])
    }

    private func write(_ bytes: [UInt8], _ relative: String, in root: URL) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    private func sampleVolume() throws -> (URL, [String]) {
        let root = try temporaryFolder(self).appendingPathComponent("volume")
        let written = try SampleRecordings.writeVolume(at: root, cameraSerial: "A123456", officerNumber: "010203",
                                                       start: "20241105093012")
        return (root, written)
    }

    func testCollectsEveryFileOnceWithMetadataAndAttribution() throws {
        let store = try makeStore()
        try officers(store)
        _ = try store.registerCamera(serial: "A123456", vendor: "Example Vision", model: "ZFY-X1")
        let (root, written) = try sampleVolume()
        let collector = Collector(store: store, freePolicy: .never)
        let camera = CameraContext(serial: "A123456", officerNumber: "010203", clockDriftSeconds: 120,
                                   timeZone: TimeZone(identifier: "Asia/Shanghai")!)
        let summary = try collector.collect(root: root.path, camera: camera, mayFree: true)
        XCTAssertEqual(summary.new, written.count)
        XCTAssertEqual(summary.failed, [])
        let recordings = try store.recordings()
        XCTAssertEqual(recordings.count, written.count)

        let video = try XCTUnwrap(recordings.first { $0.sourceName.hasSuffix("_IMP.MP4") })
        XCTAssertEqual(video.mediaType, .video)
        XCTAssertTrue(video.important)
        XCTAssertEqual(video.officerNumber, "010203")
        XCTAssertEqual(video.flags, [], "a registered camera, a valid officer, a good file: no flags")
        XCTAssertNotNil(video.durationSeconds)
        // 09:30:12 in Shanghai is 01:30:12 UTC; the camera was 120 s ahead.
        let nameStart = try XCTUnwrap(RecordingName.parse(URL(fileURLWithPath: video.sourceName).lastPathComponent))
        let expected = try XCTUnwrap(nameStart.startDate(in: TimeZone(identifier: "Asia/Shanghai")!)).addingTimeInterval(-120)
        XCTAssertEqual(video.correctedStartedAt?.timeIntervalSince1970 ?? 0, expected.timeIntervalSince1970, accuracy: 0.001)
        XCTAssertEqual(video.cameraStartedAt, nameStart.startedAt)

        for recording in recordings {
            let source = try Data(contentsOf: root.appendingPathComponent(recording.sourceName))
            XCTAssertEqual(try Data(contentsOf: store.blobs.path(of: recording.sha256)), source, recording.sourceName)
        }
        XCTAssertTrue(recordings.contains { $0.flags.contains(.nonstandardName) })
        XCTAssertTrue(recordings.contains { $0.flags.contains(.emptyFile) })
        XCTAssertTrue(recordings.contains { $0.flags.contains(.damagedContent) }, "the truncated MP4")

        let again = try collector.collect(root: root.path, camera: camera, mayFree: true)
        XCTAssertEqual(again.new, 0)
        XCTAssertEqual(again.alreadyCollected, written.count)
        XCTAssertEqual(try store.recordings().count, written.count, "collecting twice adds nothing")
        XCTAssertTrue(try store.verify().isIntact)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.temporary.path), [])
    }

    func testUnregisteredCameraAndUncertifiedOfficersAreCollectedAndFlagged() throws {
        let store = try makeStore()
        try officers(store)
        let root = try temporaryFolder(self)
        func video(_ seconds: Double) -> [UInt8] {
            SampleRecordings.mp4(durationSeconds: seconds, createdAt: Date(timeIntervalSince1970: 1_730_000_000))
        }
        try write(video(1), "DCIM/B000001_010203_20241105093012_0001.MP4", in: root)
        try write(video(2), "DCIM/B000001_030405_20241105093512_0002.MP4", in: root)
        try write(video(3), "DCIM/B000001_040506_20241105094012_0003.MP4", in: root)
        try write(video(4), "DCIM/B000001_999999_20241105094512_0004.MP4", in: root)
        let summary = try Collector(store: store).collect(root: root.path, camera: CameraContext(serial: "B000001"), mayFree: false)
        XCTAssertEqual(summary.new, 4)
        XCTAssertEqual(summary.flagged, 4)
        let flags = try store.recordings().map(\.flags.text)
        XCTAssertEqual(flags, ["unregistered-camera", "unregistered-camera,certificate-revoked",
                               "unregistered-camera,certificate-expired", "unregistered-camera,unknown-officer"])
        XCTAssertEqual(try store.custodyEvents().filter { $0.kind == .flagged }.count, 4)
    }

    func testHostileNamesAreKeptExactlyAndSymlinksAreNotFollowed() throws {
        let store = try makeStore()
        let root = try temporaryFolder(self)
        let outside = try temporaryFolder(self).appendingPathComponent("secret.txt")
        try Data("outside the volume".utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link.MP4").path,
                                                   withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("up").path, withDestinationPath: "..")
        try write(Array("dots".utf8), "...", in: root)
        try write(Array("newline".utf8), "a\nb.MP4", in: root)
        // A name that is not UTF-8 (bytes 0xFF and a lone continuation byte around Chinese), written through the C API.
        let name: [UInt8] = [0xFF] + Array("视频".utf8) + [0x80] + Array(".MP4".utf8)
        let raw: [UInt8] = Array(root.path.utf8) + Array("/".utf8) + name
        let descriptor = (raw.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) }
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        XCTAssertEqual(Glibc.write(descriptor, "gbk", 3), 3)
        close(descriptor)

        let summary = try Collector(store: store).collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false)
        XCTAssertEqual(summary.new, 3)
        XCTAssertEqual(Set(summary.skipped.map(\.path)), ["link.MP4", "up"])
        XCTAssertTrue(summary.skipped.allSatisfy { $0.reason.contains("symbolic link") })
        let recordings = try store.recordings()
        let invalid = try XCTUnwrap(recordings.first { $0.sourcePath.first == 0xFF })
        XCTAssertEqual(invalid.sourceName, "\\xff视频\\x80.MP4")
        XCTAssertEqual(invalid.sourcePath, Data(name), "the raw bytes are kept exactly")
        XCTAssertTrue(recordings.contains { $0.sourceName == "a\\x0ab.MP4" })
        XCTAssertFalse(recordings.contains { (try? Data(contentsOf: store.blobs.path(of: $0.sha256))) == Data("outside the volume".utf8) })
        XCTAssertTrue(recordings.allSatisfy { $0.flags.contains(.nonstandardName) })
    }

    func testAFileThatKeepsChangingIsRetriedThenKeptAndFlagged() throws {
        let store = try makeStore()
        let root = try temporaryFolder(self)
        let growing = root.appendingPathComponent("A123456_010203_20241105093012_0001.MP4")
        try Data(count: 8 << 20).write(to: growing)
        let handle = try FileHandle(forWritingTo: growing)
        let stop = LockedFlag()
        let writer = Thread {
            while !stop.value {
                handle.seekToEndOfFile()
                handle.write(Data([1]))
                usleep(200)
            }
        }
        writer.start()
        let summary = try Collector(store: store).collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false)
        stop.set()
        XCTAssertEqual(summary.new, 1)
        let recording = try XCTUnwrap(try store.recordings().first)
        XCTAssertTrue(recording.flags.contains(.changedWhileCopying), recording.flags.text)
        XCTAssertEqual(try store.blobs.hash(of: recording.sha256), recording.sha256, "what was kept matches its hash")
    }

    func testAVanishedFileIsNamedAndTheOthersAreCollected() throws {
        let store = try makeStore()
        let root = try temporaryFolder(self)
        for index in 1...3 { try write(Array("file \(index)".utf8), "DCIM/\(index).MP4", in: root) }
        let doomed = root.appendingPathComponent("DCIM/2.MP4").path
        var collector = Collector(store: store)
        collector.workers = 1  // the file is removed at a set point of a sequential run
        let summary = try collector.collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false) { progress in
            if progress.filesDone == 0 { unlink(doomed) }  // pulled out between the walk and the copy
        }
        XCTAssertEqual(summary.new, 2)
        XCTAssertEqual(summary.failed.map(\.path), ["DCIM/2.MP4"])
        XCTAssertTrue(summary.failed[0].reason.contains("No such file"), summary.failed[0].reason)
    }

    func testACameraUnpluggedMidCopyNamesWhatWasNotCollectedAndRedockingFinishes() throws {
        let store = try makeStore()
        let root = try temporaryFolder(self).appendingPathComponent("volume")
        for index in 1...5 { try write(Array("clip \(index)".utf8), "DCIM/\(index).MP4", in: root) }
        let away = root.deletingLastPathComponent().appendingPathComponent("unplugged")
        var collector = Collector(store: store)
        collector.workers = 1  // unplugged at a set point of a sequential run
        let summary = try collector.collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false) { progress in
            if progress.filesDone == 2 && progress.filesTotal == 5 {
                _ = try? moveContents(of: root, to: away)  // the card's files vanish, as when unplugged
            }
        }
        XCTAssertEqual(summary.new, 2)
        XCTAssertEqual(summary.failed.map(\.path), ["DCIM/3.MP4", "DCIM/4.MP4", "DCIM/5.MP4"])
        XCTAssertTrue(try store.verify().isIntact)

        try moveContents(of: away, to: root)  // docked again
        let again = try collector.collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false)
        XCTAssertEqual(again.new, 3)
        XCTAssertEqual(again.alreadyCollected, 2)
        XCTAssertEqual(try store.recordings().count, 5)
    }

    func testAFullDiskStopsCleanlyAndCollectingAgainFinishes() throws {
        // Room for the database and the first batch of two, not for all six.
        let disk = try SmallDisk(bytes: 4 << 20, test: self)
        let home = disk.folder.appendingPathComponent("home")
        let store = try makeStore(home)
        let root = try temporaryFolder(self)
        for index in 1...6 { try write([UInt8](repeating: UInt8(index), count: 1 << 20), "DCIM/\(index).MP4", in: root) }
        var collector = Collector(store: store)
        collector.batchFiles = 2
        XCTAssertThrowsError(try collector.collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false)) { error in
            XCTAssertTrue("\(error)".contains("disk full"), "\(error)")
        }
        let committed = try store.recordings()
        XCTAssertGreaterThan(committed.count, 0)
        XCTAssertLessThan(committed.count, 6)
        XCTAssertTrue(try store.verify().isIntact, "nothing half-committed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.blobs.temporary.path), [])

        let remount = Process()
        remount.executableURL = URL(fileURLWithPath: "/bin/mount")
        remount.arguments = ["-o", "remount,size=64m", disk.folder.path]
        try remount.run()
        waitForExit(remount, timeout: 30)
        let summary = try collector.collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: false)
        XCTAssertEqual(summary.new + summary.alreadyCollected, 6)
        XCTAssertEqual(try store.recordings().count, 6)
        XCTAssertTrue(try store.verify().isIntact)
    }

    func testAfterVerifyFreesTheCameraAndRecordsIt() throws {
        let store = try makeStore()
        let root = try temporaryFolder(self)
        for index in 1...2 { try write(Array("clip \(index)".utf8), "DCIM/\(index).MP4", in: root) }
        let summary = try Collector(store: store, freePolicy: .afterVerify)
            .collect(root: root.path, camera: CameraContext(serial: "A123456"), mayFree: true)
        XCTAssertEqual(summary.wiped, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("DCIM").path), [])
        XCTAssertEqual(try store.custodyEvents().filter { $0.kind == .wiped }.count, 2)
        XCTAssertTrue(try store.recordings().allSatisfy { $0.wipedAt != nil })

        let imported = try temporaryFolder(self)
        try write(Array("kept".utf8), "x.MP4", in: imported)
        _ = try Collector(store: store, freePolicy: .afterVerify)
            .collect(root: imported.path, camera: CameraContext(serial: "A123456"), mayFree: false)
        XCTAssertTrue(FileManager.default.fileExists(atPath: imported.appendingPathComponent("x.MP4").path), "an import is never freed")

        let kept = try temporaryFolder(self)
        try write(Array("receipt".utf8), "y.MP4", in: kept)
        _ = try Collector(store: store).collect(root: kept.path, camera: CameraContext(serial: "A123456"), mayFree: true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept.appendingPathComponent("y.MP4").path),
                      "after-receipt (the default) keeps files until sync has a receipt")
    }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}
