import Foundation
import XCTest

/// A `fieldgate-server` running as a child process on loopback, so a test can kill it (-9)
/// and start it again on the same data and port.
public final class KillableServer: @unchecked Sendable {
    public let data: URL
    /// Certificate and key (PEM) to serve https with.
    public let tls: (certificate: String, key: String)?
    public private(set) var port: Int = 0
    private var process: Process?
    /// Added to the server's environment at each start (e.g. a fault point to die at).
    public var environment: [String: String] = [:]
    /// Extra `serve` arguments at each start.
    public var serveArguments: [String] = []
    /// `--database` (and its password file) for `serve` and `gateways`; none for SQLite in the data folder.
    public var databaseArguments: [String] = []
    /// A program the server runs under, with its arguments (e.g. `prlimit --nofile=1024:1024 --`).
    public var launcher: [String] = []

    public var url: String { "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)" }

    public init(data: URL, tls: (certificate: String, key: String)? = nil) {
        self.data = data
        self.tls = tls
    }

    /// Starts the server (on `port`, or a free one the first time) and waits until it listens.
    public func start(port requested: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
        let process = Process()
        let serve = ["serve", "--data", data.path, "--host", "127.0.0.1", "--port", String(requested ?? port)]
            + (tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? []) + databaseArguments + serveArguments
        if let program = launcher.first {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = Array(launcher.dropFirst()) + [builtBinary("fieldgate-server").path] + serve
        } else {
            process.executableURL = builtBinary("fieldgate-server")
            process.arguments = serve
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        self.process = process
        // Read the first line: "fieldgate-server listening on http://127.0.0.1:PORT".
        let reader = out.fileHandleForReading
        let text = readUntil(reader, timeout: 30, while: { process.isRunning }) { $0.contains("\n") }
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
    public func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGTERM (a clean shutdown), then SIGKILL if the server has not ended within 10 s (a child
    /// may inherit SIGTERM blocked from the thread that started it).
    public func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    /// Whether the server process is alive (false once it died at a fault point).
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Waits up to `timeout` for the server to die on its own (at a fault point); true if it did.
    public func waitForDeath(timeout: TimeInterval) -> Bool {
        guard let process else { return true }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return false }
        process.waitUntilExit()
        self.process = nil
        return true
    }

    /// The process id of the running server, for tools that act on it (prlimit).
    public var processIdentifier: Int32? { process?.processIdentifier }

    deinit { kill() }

    /// `fieldgate-server gateways add NAME`: the enrolment token (the last line printed).
    public func addGateway(_ name: String) throws -> String {
        let result = try runServerCommand(["gateways", "add", name, "--data", data.path] + databaseArguments)
        guard result.status == 0, let token = result.stdout.split(separator: "\n").last else {
            throw XCTSkipFailure("gateways add failed: \(result.stderr)")
        }
        return String(token)
    }

    public func runServerCommand(_ arguments: [String]) throws -> CommandResult {
        try runProgram(builtBinary("fieldgate-server").path, arguments)
    }

    /// The value of a counter at /metrics; a counter the server does not report is an error,
    /// so a comparison of two reads cannot pass on a missing counter.
    public func metric(_ name: String) throws -> Double {
        let fetched = try runProgram("/usr/bin/curl",
                                    ["-sS", "--fail"] + (tls.map { ["--cacert", $0.certificate] } ?? []) + [url + "/metrics"])
        guard fetched.status == 0 else { throw XCTSkipFailure("GET /metrics: \(fetched.stderr)") }
        let text = fetched.stdout
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return value }
        }
        throw XCTSkipFailure("no counter \(name) at /metrics:\n\(text)")
    }
}

/// An error that fails the test with a message (thrown where a helper cannot call XCTFail).
public struct XCTSkipFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
