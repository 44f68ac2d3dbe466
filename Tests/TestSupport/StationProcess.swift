import Foundation
import XCTest

/// A `fieldgate station` child process on loopback: its status page read with curl, killed
/// with SIGTERM or SIGKILL as a test needs.
public final class StationProcess: @unchecked Sendable {
    public let process: Process
    public let url: String
    private let errors = LockedText()

    /// Starts the station on a free port and waits for its ready line.
    public init(environment: [String: String], arguments: [String] = []) throws {
        process = Process()
        process.executableURL = builtBinary("fieldgate")
        process.arguments = ["station", "--listen", "127.0.0.1:0", "--rescan-interval", "0.5"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let sink = errors
        DispatchQueue.global().async {
            let reader = err.fileHandleForReading
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return }
                sink.append(String(decoding: chunk, as: UTF8.self))
            }
        }
        let reader = out.fileHandleForReading
        let prefix = "fieldgate station: status page at "
        let running = process
        let text = readUntil(reader, timeout: 60, while: { running.isRunning }) { $0.contains("\n") }
        guard let line = text.split(separator: "\n").first, line.hasPrefix(prefix) else {
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            throw XCTSkipFailure("fieldgate station did not start: \(text)\n\(errors.text)")
        }
        url = String(line.dropFirst(prefix.count))
        DispatchQueue.global().async { _ = reader.readDataToEndOfFile() }
    }

    /// What the station logged on stderr so far.
    public var log: String { errors.text }

    /// GET a path of the status page.
    public func get(_ path: String) throws -> CommandResult {
        try runProgram("/usr/bin/curl", ["-sS", "--fail", "--max-time", "10", url + path])
    }

    /// `/api/status`, decoded.
    public func status() throws -> [String: Any] {
        let fetched = try get("/api/status")
        guard fetched.status == 0,
              let object = try JSONSerialization.jsonObject(with: Data(fetched.stdout.utf8)) as? [String: Any] else {
            throw XCTSkipFailure("GET /api/status: \(fetched.stderr)")
        }
        return object
    }

    /// The tile of camera `serial`, if shown.
    public func bay(_ serial: String) throws -> [String: Any]? {
        (try status()["bays"] as? [[String: Any]])?.first { $0["serial"] as? String == serial }
    }

    /// Polls until `condition` holds for the status (or fails the wait with the last status seen).
    @discardableResult
    public func waitFor(_ what: String, timeout: TimeInterval = 60,
                        _ condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            guard process.isRunning else { throw XCTSkipFailure("the station ended while waiting for \(what):\n\(log)") }
            last = try status()
            if condition(last) { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw XCTSkipFailure("timed out waiting for \(what); last status: \(last)\nlog:\n\(log)")
    }

    /// Waits until bay `serial` is in `state` and returns its tile.
    @discardableResult
    public func waitForBay(_ serial: String, state: String, timeout: TimeInterval = 60) throws -> [String: Any] {
        let status = try waitFor("bay \(serial) \(state)", timeout: timeout) { status in
            ((status["bays"] as? [[String: Any]]) ?? []).contains { $0["serial"] as? String == serial && $0["state"] as? String == state }
        }
        return ((status["bays"] as? [[String: Any]]) ?? []).first { $0["serial"] as? String == serial } ?? [:]
    }

    /// SIGTERM, then the exit status (SIGKILL after `timeout`, which fails the clean-stop promise).
    public func terminate(timeout: TimeInterval = 30) -> Int32 {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()  // bounded: SIGKILL
            return -1
        }
        process.waitUntilExit()  // bounded: it has ended
        return process.terminationStatus
    }

    /// SIGKILL: as a crash or a power cut.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { kill() }
}

final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    func append(_ text: String) { lock.withLock { value += text } }
    var text: String { lock.withLock { value } }
}
