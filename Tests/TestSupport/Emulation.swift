import Foundation
import USBEmulation
import XCTest

/// The process's umockdev testbed for tests, with each test's devices unplugged after it.
///
/// Without umockdev's preload the test is skipped with a message saying how to run it;
/// with FIELDGATE_REQUIRE_EMULATION=1 (the README's test command sets it) a skip is a failure,
/// so a run that silently tested nothing cannot pass.
public func emulationTestbed(file: StaticString = #filePath, line: UInt = #line) throws -> USBTestbed {
    do {
        let testbed = try USBTestbed.shared()
        testbed.unplugAll()
        return testbed
    } catch {
        let message = "emulated-device tests need umockdev's preload: run `bash .ci/test` (or `umockdev-wrapper swift test`). \(error)"
        if ProcessInfo.processInfo.environment["FIELDGATE_REQUIRE_EMULATION"] == "1" {
            XCTFail(message, file: file, line: line)
            throw error
        }
        throw XCTSkip(message)
    }
}

/// The repository's root folder.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A fresh temporary folder, removed when the test ends.
public func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// The output of a finished `fieldgate` run.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs the built `fieldgate` binary (it sits beside the test bundle) and waits for it.
public func runFieldgate(_ arguments: [String], environment: [String: String] = [:], workingDirectory: URL? = nil,
                         timeout: TimeInterval = 60) throws -> CommandResult {
    try runProgram(builtBinary("fieldgate").path, arguments, environment: environment, workingDirectory: workingDirectory,
                   timeout: timeout)
}

/// Runs the built `fieldgate-lab` binary (demo and emulated devices) and waits for it.
public func runFieldgateLab(_ arguments: [String], environment: [String: String] = [:],
                            timeout: TimeInterval = 60) throws -> CommandResult {
    try runProgram(builtBinary("fieldgate-lab").path, arguments, environment: environment, timeout: timeout)
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

/// A real, tiny file system (tmpfs) for full-disk tests; needs root, as CI has.
public final class SmallDisk {
    public let folder: URL

    public init(bytes: Int, test: XCTestCase) throws {
        guard getuid() == 0 else { throw XCTSkip("a full-disk test mounts a small tmpfs, which needs root") }
        folder = try temporaryFolder(test).appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", folder.path]
        try mount.run()
        waitForExit(mount, timeout: 30)
        guard mount.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here") }
        let path = folder.path
        test.addTeardownBlock {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = ["-l", path]
            try? unmount.run()
            waitForExit(unmount, timeout: 30)
        }
    }
}

/// Moves everything in `folder` into `destination` (made if needed) and leaves `folder` empty:
/// a card pulled out with its camera. The gateway holds a volume's folder open while it
/// collects, as it holds a mount; moving the folder itself would not take its files away.
public func moveContents(of folder: URL, to destination: URL) throws {
    try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
        try FileManager.default.moveItem(at: folder.appendingPathComponent(name), to: destination.appendingPathComponent(name))
    }
}
