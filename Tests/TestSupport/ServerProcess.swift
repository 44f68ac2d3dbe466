import Foundation
import XCTest

/// A built binary beside the test bundle.
public func builtBinary(_ name: String) -> URL {
    let buildFolder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let binary = buildFolder.appendingPathComponent(name)
    if FileManager.default.fileExists(atPath: binary.path) { return binary }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
}

/// Runs a program to its end (or `timeout`), reading its output while it runs.
public func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                       workingDirectory: URL? = nil, timeout: TimeInterval = 120) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let workingDirectory { process.currentDirectoryURL = workingDirectory }
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = LockedData(), errData = LockedData()
    let readers = DispatchGroup()
    for (pipe, sink) in [(out, outData), (err, errData)] {
        readers.enter()
        DispatchQueue.global().async {
            sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
            readers.leave()
        }
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { process.terminate() }
    waitForExit(process, timeout: 10)
    // A grandchild still holding the pipes must not hold the test: what was read is kept.
    _ = readers.wait(timeout: .now() + 10)
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: outData.get(), as: UTF8.self),
                         stderr: String(decoding: errData.get(), as: UTF8.self))
}

/// Runs the built `fieldgate-server` binary and waits for it.
public func runFieldgateServer(_ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
    try runProgram(builtBinary("fieldgate-server").path, arguments, timeout: timeout)
}

/// A `fieldgate-server serve` child process.
public final class ServerProcess: @unchecked Sendable {
    let process: Process
    let output: FileHandle

    init(process: Process, output: FileHandle) {
        self.process = process
        self.output = output
    }

    /// Reads stdout until the ready line and returns its URL.
    public func waitForListeningURL(timeout: TimeInterval = 60) throws -> String {
        let prefix = "fieldgate-server listening on "
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard let chunk = readAvailable(output, timeout: min(0.5, max(0, deadline.timeIntervalSinceNow))) else { continue }
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), text.contains("\n") {
                return String(line.dropFirst(prefix.count))
            }
        }
        throw ServerProcessError(message: "fieldgate-server did not report listening; output so far: \(text)")
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    public func terminate(timeout: TimeInterval = 30) -> Int32 {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    public func stop() { if process.isRunning { terminate() } }
}

public struct ServerProcessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Starts `fieldgate-server` with these arguments; stderr goes to the test's stderr.
public func startFieldgateServer(_ arguments: [String]) throws -> ServerProcess {
    let process = Process()
    process.executableURL = builtBinary("fieldgate-server")
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    return ServerProcess(process: process, output: out.fileHandleForReading)
}
