import Foundation
import XCTest

/// A private PostgreSQL cluster for the tests: `initdb` and `pg_ctl` from Debian's `postgresql`
/// in a temporary folder, on a free port of 127.0.0.1 with its sockets in that folder, owned by
/// an unprivileged user when the tests run as root (PostgreSQL refuses to run as root). One
/// cluster serves the whole test process, each test in a database of its own; it is stopped
/// when the tests end, and a watchdog stops it should the test process die first.
public final class PostgresCluster: Sendable {
    public let folder: URL
    public let port: Int
    public let user = "fieldgate"
    public let password: String
    /// A file holding `password`, for `--database-password-file`.
    public let passwordFile: URL
    private let owner: String?

    public static let binaries = URL(fileURLWithPath: "/usr/lib/postgresql/15/bin")

    /// The process's cluster, started on first use. Without PostgreSQL the test is skipped with
    /// a message saying how to install it; with FIELDGATE_REQUIRE_EMULATION=1 (CI) that is a failure.
    public static func shared(file: StaticString = #filePath, line: UInt = #line) throws -> PostgresCluster {
        let outcome = sharedCluster
        switch outcome {
        case .success(let cluster): return cluster
        case .failure(let error):
            let message = "the PostgreSQL tests need Debian's postgresql (apt-get install postgresql; see .ci/packages): \(error)"
            if ProcessInfo.processInfo.environment["FIELDGATE_REQUIRE_EMULATION"] == "1" {
                XCTFail(message, file: file, line: line)
                throw error
            }
            throw XCTSkip(message)
        }
    }

    private static let sharedCluster: Result<PostgresCluster, PostgresClusterError> = {
        do {
            let cluster = try PostgresCluster()
            XCTestObservationCenter.shared.addTestObserver(ClusterStopper(cluster: cluster))
            return .success(cluster)
        } catch {
            return .failure(error as? PostgresClusterError ?? PostgresClusterError(message: "\(error)"))
        }
    }()

    private init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binaries.appendingPathComponent("initdb").path) else {
            throw PostgresClusterError(message: "no \(Self.binaries.path)/initdb")
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-postgres-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let owner = getuid() == 0 ? "nobody" : nil
        self.owner = owner
        let dataPath = folder.appendingPathComponent("data").path
        password = UUID().uuidString
        passwordFile = folder.appendingPathComponent("password")
        try Data((password + "\n").utf8).write(to: passwordFile)
        if let owner { try Self.run("/bin/chown", ["-R", "\(owner):", folder.path]) }
        try Self.run(as: owner, "initdb", ["-D", dataPath, "-U", user, "--pwfile", passwordFile.path, "--auth", "scram-sha-256",
                                  "--encoding", "UTF8", "--locale", "C", "--no-sync"], timeout: 120)
        try Self.startWatchdog(owner: owner, dataPath: dataPath, folder: folder)
        var started: (port: Int, error: (any Error)?) = (0, nil)
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..<5 {
            let candidate = try Self.freePort()
            do {
                try Self.start(as: owner, dataPath: dataPath, folder: folder, port: candidate)
                started = (candidate, nil)
                break
            } catch {
                started.error = error
            }
        }
        guard started.port != 0 else {
            let log = (try? String(contentsOf: folder.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
            throw PostgresClusterError(message: "postgres did not start: \(started.error.map { "\($0)" } ?? "") \(log)")
        }
        port = started.port
    }

    private var dataPath: String { folder.appendingPathComponent("data").path }

    /// Creates an empty database and returns its name.
    public func createDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        _ = try psql(database: "postgres", "CREATE DATABASE \(name)")
        return name
    }

    /// `postgres://USER@127.0.0.1:PORT/DATABASE`, as `--database` takes it.
    public func url(database: String) -> String { "postgres://\(user)@127.0.0.1:\(port)/\(database)" }

    /// Runs SQL with psql (over TCP, with the password), returning its unaligned output.
    @discardableResult
    public func psql(database: String, _ sql: String) throws -> String {
        let result = try runProgram("/usr/bin/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                                      "-p", String(port), "-U", user, "-d", database, "-c", sql],
                                    environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"], timeout: 60)
        guard result.status == 0 else { throw PostgresClusterError(message: "psql \(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server at once (`pg_ctl stop -m fast`) and removes its folder.
    func stop() {
        _ = try? runAsOwner("pg_ctl", ["-D", dataPath, "-m", "fast", "-t", "30", "stop"], timeout: 45)
        try? FileManager.default.removeItem(at: folder)
    }

    /// A shell that waits for this process to end, then stops the cluster and removes it: a
    /// test process killed mid-run leaves no server behind.
    private static func startWatchdog(owner: String?, dataPath: String, folder: URL) throws {
        let stop = prefix(owner).map { "\($0) " }.joined() + "\(Self.binaries.path)/pg_ctl -D '\(dataPath)' -m immediate -t 30 stop"
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            if [ -d '\(dataPath)' ]; then \(stop) >/dev/null 2>&1 </dev/null; rm -rf '\(folder.path)'; fi
            """
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = ["/bin/sh", "-c", script]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }

    private static func prefix(_ owner: String?) -> [String] { owner.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? [] }

    private func runAsOwner(_ program: String, _ arguments: [String], timeout: TimeInterval) throws {
        try Self.run(as: owner, program, arguments, timeout: timeout)
    }

    /// Starts `postgres` on `port` and waits (bounded) until it takes connections. It is started
    /// directly rather than by `pg_ctl start`: a server left running by a program this process
    /// waits for would keep that program's end-of-process descriptor open, and the wait would
    /// never end. `pg_ctl stop` stops it.
    private static func start(as owner: String?, dataPath: String, folder: URL, port: Int) throws {
        let log = folder.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let command = prefix(owner) + [binaries.appendingPathComponent("postgres").path, "-D", dataPath, "-p", String(port),
                                       "-k", folder.path, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                       "-c", "max_connections=300"]
        let server = Process()
        server.executableURL = URL(fileURLWithPath: command[0])
        server.arguments = Array(command.dropFirst())
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = output
        server.standardError = output
        try server.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            guard server.isRunning else {
                throw PostgresClusterError(message: "postgres exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            let ready = try runProgram(binaries.appendingPathComponent("pg_isready").path, ["-q", "-h", "127.0.0.1", "-p", String(port)],
                                       timeout: 10)
            if ready.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        server.terminate()
        throw PostgresClusterError(message: "postgres did not take connections within 60 s")
    }

    /// Runs one of PostgreSQL's programs as `owner` (nil: as this process's user).
    private static func run(as owner: String?, _ program: String, _ arguments: [String], timeout: TimeInterval) throws {
        let command = prefix(owner) + [binaries.appendingPathComponent(program).path] + arguments
        try run(command[0], Array(command.dropFirst()), timeout: timeout)
    }

    private static func run(_ program: String, _ arguments: [String], timeout: TimeInterval = 60) throws {
        let result = try runProgram(program, arguments, timeout: timeout)
        guard result.status == 0 else {
            throw PostgresClusterError(message: "\(program) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)\(result.stdout)")
        }
    }

    /// A port of 127.0.0.1 nobody listens on now.
    public static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw PostgresClusterError(message: "socket: \(String(cString: strerror(errno)))") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socket, pointer, length) == 0 && getsockname(socket, pointer, &length) == 0
            }
        }
        guard bound else { throw PostgresClusterError(message: "bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Stops the shared cluster when the test bundle finishes.
private final class ClusterStopper: NSObject, XCTestObservation, @unchecked Sendable {
    let cluster: PostgresCluster

    init(cluster: PostgresCluster) { self.cluster = cluster }

    func testBundleDidFinish(_ testBundle: Bundle) { cluster.stop() }
}

public struct PostgresClusterError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
