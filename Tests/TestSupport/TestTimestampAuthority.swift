import Foundation

/// A real RFC 3161 time-stamping authority on 127.0.0.1 (`Tests/tsa_server.py`: `openssl ts
/// -reply` with a test CA made by `openssl req`), stopped with the object.
public final class TestTimestampAuthority: @unchecked Sendable {
    /// How the authority misbehaves, if at all.
    public enum Behaviour: Sendable {
        case honest
        /// The first `n` queries are answered 503, as by a TSA that is down.
        case downForFirst(Int)
        /// Every token stamps another hash than the one asked for.
        case wrongImprint
    }

    private let process = Process()
    private let output = Pipe()
    public let port: Int
    /// Holds `ca.pem`, the certificate a verifier trusts, and the TSA's key and certificate.
    public let folder: URL
    public var url: String { "http://127.0.0.1:\(port)/" }
    public var caCertificate: URL { folder.appendingPathComponent("ca.pem") }

    /// Starts it; an existing `folder` keeps its CA, so a restarted authority is the same one.
    public init(folder: URL, behaviour: Behaviour = .honest) throws {
        self.folder = folder
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/tsa_server.py").path, folder.path]
        switch behaviour {
        case .honest: break
        case .downForFirst(let count): arguments += ["--fail-first", String(count)]
        case .wrongImprint: arguments.append("--wrong-imprint")
        }
        process.arguments = arguments
        process.standardOutput = output
        try process.run()
        let running = process
        let text = readUntil(output.fileHandleForReading, timeout: 60, while: { running.isRunning }) { $0.contains("\n") }
        guard let range = text.range(of: "http://127.0.0.1:"),
              let port = Int(text[range.upperBound...].prefix { $0.isNumber }) else {
            kill(process.processIdentifier, SIGKILL)
            throw XCTSkipFailure("the time-stamping authority did not start: \(text)")
        }
        self.port = port
    }

    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}
