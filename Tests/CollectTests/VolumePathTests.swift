@testable import Collect
import Foundation
import TestSupport
import XCTest

/// Opening and removing a camera's files by the paths the walk found: nothing outside the
/// volume is reached, whether a name is swapped for a symlink after the walk or a path climbs.
final class VolumePathTests: XCTestCase {
    private var volumeFolder: URL!
    private var outside: URL!

    override func setUpWithError() throws {
        volumeFolder = try temporaryFolder(self).appendingPathComponent("volume")
        try FileManager.default.createDirectory(at: volumeFolder.appendingPathComponent("DCIM"), withIntermediateDirectories: true)
        try Data("recording".utf8).write(to: volumeFolder.appendingPathComponent("DCIM/A.MP4"))
        outside = try temporaryFolder(self).appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("not the camera's".utf8).write(to: outside.appendingPathComponent("secret.MP4"))
        try FileManager.default.createSymbolicLink(atPath: volumeFolder.appendingPathComponent("DCIM/link.MP4").path,
                                                   withDestinationPath: outside.appendingPathComponent("secret.MP4").path)
        try FileManager.default.createSymbolicLink(atPath: volumeFolder.appendingPathComponent("away").path, withDestinationPath: outside.path)
    }

    private func contents(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(descriptor, &buffer, buffer.count)
        close(descriptor)
        return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
    }

    private typealias Opener = (OpenVolume, [UInt8]) -> (descriptor: Int32, error: Int32)

    private func checkRefusals(_ open: Opener, file: StaticString = #filePath, line: UInt = #line) throws {
        let volume = try OpenVolume(volumeFolder.path)
        let found = open(volume, Array("DCIM/A.MP4".utf8))
        XCTAssertGreaterThanOrEqual(found.descriptor, 0, file: file, line: line)
        XCTAssertEqual(contents(found.descriptor), "recording", file: file, line: line)
        for (path, reason) in [("DCIM/link.MP4", "a symlink as the file"), ("away/secret.MP4", "a symlinked folder"),
                               ("../outside/secret.MP4", "a path that climbs out"),
                               (outside.appendingPathComponent("secret.MP4").path, "an absolute path"),
                               ("DCIM/missing.MP4", "a file that is gone")] {
            let refused = open(volume, Array(path.utf8))
            XCTAssertLessThan(refused.descriptor, 0, "\(reason) must not open", file: file, line: line)
            if refused.descriptor >= 0 { close(refused.descriptor) }
            XCTAssertNotEqual(refused.error, 0, reason, file: file, line: line)
        }
        XCTAssertEqual(open(volume, Array("DCIM/missing.MP4".utf8)).error, ENOENT, file: file, line: line)
    }

    func testFilesOpenBelowTheVolumeAndNothingOutsideItOpens() throws {
        try checkRefusals { VolumeWalker.openFile(in: $0, path: $1) }
    }

    func testTheComponentWalkForKernelsWithoutOpenat2RefusesTheSame() throws {
        try checkRefusals { VolumeWalker.openByComponents(in: $0, path: $1) }
    }

    func testRemovingAFileNeverReachesThroughALink() throws {
        let volume = try OpenVolume(volumeFolder.path)
        XCTAssertNotEqual(VolumeWalker.removeFile(in: volume, path: Array("away/secret.MP4".utf8)), 0)
        XCTAssertNotEqual(VolumeWalker.removeFile(in: volume, path: Array("../outside/secret.MP4".utf8)), 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside.appendingPathComponent("secret.MP4").path), "the file outside stays")
        XCTAssertEqual(VolumeWalker.removeFile(in: volume, path: Array("DCIM/A.MP4".utf8)), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: volumeFolder.appendingPathComponent("DCIM/A.MP4").path))
        XCTAssertEqual(VolumeWalker.removeFile(in: volume, path: Array("DCIM/A.MP4".utf8)), ENOENT)
    }

    /// Names of every length a file system allows, so that directory records end at every
    /// offset of readdir's buffer: each is listed exactly, none cut short or run on.
    func testNamesOfEveryLengthAreListedExactly() throws {
        let folder = volumeFolder.appendingPathComponent("PHOTO")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let names = (1...255).map { length in String(repeating: "n", count: length - 1) + String(length % 10) }
        for name in names { XCTAssertTrue(FileManager.default.createFile(atPath: folder.appendingPathComponent(name).path, contents: Data())) }
        let listed = try VolumeWalker.walk(volumeFolder.path).files.filter { $0.path.starts(with: Array("PHOTO/".utf8)) }
        XCTAssertEqual(Set(listed.map { String(decoding: $0.name, as: UTF8.self) }), Set(names))
    }
}
