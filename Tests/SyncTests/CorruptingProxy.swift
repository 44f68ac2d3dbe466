import Foundation
import TestSupport
import XCTest

/// `corrupting_proxy.py` between gateway and server: damages the first uploaded chunk.
final class CorruptingProxy: @unchecked Sendable {
    private let process = Process()
    private let output = Pipe()
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init(target: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/SyncTests/corrupting_proxy.py").path, String(target)]
        process.standardOutput = output
        try process.run()
        let running = process
        let text = readUntil(output.fileHandleForReading, timeout: 20, while: { running.isRunning }) { $0.contains("\n") }
        guard text.hasPrefix("port "), let port = Int(text.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw XCTSkipFailure("the proxy did not start: \(text)")
        }
        self.port = port
    }

    private var stoppedOutput: String?

    /// Whether the proxy damaged a chunk (read once it has stopped).
    var corrupted: Bool {
        stop()
        return stoppedOutput?.contains("corrupted") ?? false
    }

    func stop() {
        guard stoppedOutput == nil else { return }
        // SIGKILL: a child can inherit SIGTERM blocked from the test process's thread that
        // started it, and then never end on terminate().
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        stoppedOutput = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }
}
