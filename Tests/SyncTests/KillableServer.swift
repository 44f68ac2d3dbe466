import Foundation
import TestSupport
import XCTest

/// A `fieldgate-server` running as a child process on loopback, so a test can kill it (-9)
/// and start it again on the same data and port.
final class KillableServer: @unchecked Sendable {
    let data: URL
    /// Certificate and key (PEM) to serve https with.
    let tls: (certificate: String, key: String)?
    private(set) var port: Int = 0
    private var process: Process?

    var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    init(data: URL, tls: (certificate: String, key: String)? = nil) {
        self.data = data
        self.tls = tls
    }

    /// Starts the server (on `port`, or a free one the first time) and waits until it listens.
    func start(port requested: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let process = Process()
        process.executableURL = builtBinary("fieldgate-server")
        process.arguments = ["serve", "--data", data.path, "--host", "127.0.0.1", "--port", String(requested ?? port)]
            + (tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? [])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        // Read the first line: "fieldgate-server listening on http://127.0.0.1:PORT".
        let reader = out.fileHandleForReading
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while !text.contains("\n") && Date() < deadline && process.isRunning {
            let chunk = reader.availableData
            if chunk.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.contains("listening on"),
              let portText = line.split(separator: ":").last, let bound = Int(portText.trimmingCharacters(in: .whitespaces)) else {
            process.terminate()
            throw XCTSkipFailure("fieldgate-server did not start: \(text)")
        }
        port = bound
        // Keep draining stdout so the server never blocks on a full pipe.
        DispatchQueue.global().async { _ = reader.readDataToEndOfFile() }
    }

    /// SIGKILL: no clean shutdown, as a crash or power cut.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    deinit { kill() }

    /// `fieldgate-server gateways add NAME`: the enrolment token (the last line printed).
    func addGateway(_ name: String) throws -> String {
        let result = try runServerCommand(["gateways", "add", name, "--data", data.path])
        guard result.status == 0, let token = result.stdout.split(separator: "\n").last else {
            throw XCTSkipFailure("gateways add failed: \(result.stderr)")
        }
        return String(token)
    }

    func runServerCommand(_ arguments: [String]) throws -> CommandResult {
        try runBinary(builtBinary("fieldgate-server"), arguments)
    }

    /// The value of a counter at /metrics.
    func metric(_ name: String) throws -> Double {
        let fetched = try runBinary(URL(fileURLWithPath: "/usr/bin/curl"),
                                    ["-sS", "--fail"] + (tls.map { ["--cacert", $0.certificate] } ?? []) + [url + "/metrics"])
        guard fetched.status == 0 else { throw XCTSkipFailure("GET /metrics: \(fetched.stderr)") }
        let text = fetched.stdout
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        return 0
    }
}

/// An error that fails the test with a message (thrown where a helper cannot call XCTFail).
struct XCTSkipFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A binary built beside the test bundle.
func builtBinary(_ name: String) -> URL {
    let buildFolder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let beside = buildFolder.appendingPathComponent(name)
    if FileManager.default.fileExists(atPath: beside.path) { return beside }
    return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
}

/// Runs a program to its end and collects its output.
func runBinary(_ binary: URL, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> CommandResult {
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("fg-out-\(UUID().uuidString)")
    let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("fg-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outFile)
        try? FileManager.default.removeItem(at: errFile)
    }
    process.standardOutput = try FileHandle(forWritingTo: outFile)
    process.standardError = try FileHandle(forWritingTo: errFile)
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: (try? String(contentsOf: outFile, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
}
