import Drivers
import Foundation
import TestSupport
import XCTest

/// As root the gateway mounts a camera's disk itself: read-only, nosuid, nodev, noexec. Tested
/// with a real ext4 file system on a loop device (emulated disks are not block devices).
final class VolumeMountTests: XCTestCase {
    /// Runs a system tool without umockdev's preload, which would send its /dev opens to the testbed.
    private func system(_ path: String, _ arguments: [String]) throws -> CommandResult {
        try runProgram(path, arguments, environment: ["LD_PRELOAD": ""])
    }

    func testARootGatewayMountsACameraDiskReadOnly() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a disk needs root, as CI has") }
        let folder = try temporaryFolder(self)
        let content = folder.appendingPathComponent("content/DCIM")
        try FileManager.default.createDirectory(at: content, withIntermediateDirectories: true)
        try Data("recording".utf8).write(to: content.appendingPathComponent("A123456_010203_20241105093012_0001.MP4"))
        let image = folder.appendingPathComponent("camera.img")
        XCTAssertTrue(FileManager.default.createFile(atPath: image.path, contents: Data(count: 8 << 20)))
        let made = try system("/usr/sbin/mkfs.ext4", ["-q", "-F", "-d", folder.appendingPathComponent("content").path, image.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        let attach = try system("/usr/sbin/losetup", ["--show", "-f", image.path])
        XCTAssertEqual(attach.status, 0, attach.stderr)
        let loop = attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(loop.hasPrefix("/dev/loop"), loop)
        let point = folder.appendingPathComponent("mnt/A123456")
        defer {
            _ = try? system("/bin/umount", [point.path])
            _ = try? system("/usr/sbin/losetup", ["-d", loop])
        }
        // mount(8) runs as the gateway's child: without the preload here, as on a real station.
        let preload = ProcessInfo.processInfo.environment["LD_PRELOAD"]
        unsetenv("LD_PRELOAD")
        defer { if let preload { setenv("LD_PRELOAD", preload, 1) } }

        try VolumeLocator.mountReadOnly(loop, at: point)
        let file = point.appendingPathComponent("DCIM/A123456_010203_20241105093012_0001.MP4")
        XCTAssertEqual(try Data(contentsOf: file), Data("recording".utf8), "the camera's files are readable")
        let written = open(point.appendingPathComponent("DCIM/new").path, O_WRONLY | O_CREAT, 0o644)
        let code = errno
        if written >= 0 { close(written) }
        XCTAssertEqual(written, -1, "nothing can be written on the camera's disk")
        XCTAssertEqual(code, EROFS)
        let table = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let line = try XCTUnwrap(table.split(separator: "\n").first { $0.contains(" \(point.path) ") })
        for option in ["ro", "nosuid", "nodev", "noexec"] {
            XCTAssertTrue(line.split(separator: " ")[5].split(separator: ",").contains(Substring(option)), "\(option) missing: \(line)")
        }
        XCTAssertEqual(VolumeLocator.mount(of: String(line.split(separator: " ")[2]), table: table)?.readOnly, true,
                       "the locator reads the real mount table's ro flag")

        XCTAssertThrowsError(try VolumeLocator.mountReadOnly(folder.appendingPathComponent("no-such-disk").path,
                                                            at: folder.appendingPathComponent("mnt/none"))) { error in
            XCTAssertTrue((error as? VolumeLocator.MountFailure)?.reason.hasPrefix("mount failed:") == true, "\(error)")
        }
    }
}
