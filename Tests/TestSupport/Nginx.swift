import Foundation
import XCTest

/// A private nginx (Debian `nginx-light`) on a free port of 127.0.0.1 balancing round-robin over
/// server instances, as a bureau would put several `fieldgate-server` processes behind one
/// address: request bodies stream through unbuffered, and an instance that refuses connections
/// is passed over for the next. One process (no master), so stopping it leaves nothing behind.
public final class Nginx: @unchecked Sendable {
    public let port: Int
    public let folder: URL
    private let process: Process

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Starts nginx in front of `upstreams` (ports of 127.0.0.1). Without nginx the test is
    /// skipped with a message saying how to install it; with FIELDGATE_REQUIRE_EMULATION=1 (CI)
    /// that is a failure.
    public init(upstreams: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        guard let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            let message = "the load-balancer tests need nginx (apt-get install nginx-light; see .ci/packages)"
            if ProcessInfo.processInfo.environment["FIELDGATE_REQUIRE_EMULATION"] == "1" {
                XCTFail(message, file: file, line: line)
                throw XCTSkipFailure(message)
            }
            throw XCTSkip(message)
        }
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try PostgresCluster.freePort()
        let servers = upstreams.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=30s;" }.joined(separator: "\n")
        // As root, nginx would hand its work to `nobody`, who cannot write this folder.
        let user = geteuid() == 0 ? "user root;\n" : ""
        let configuration = """
            \(user)daemon off;
            master_process off;
            worker_processes 1;
            pid \(folder.path)/nginx.pid;
            error_log \(folder.path)/error.log warn;
            events { worker_connections 512; }
            http {
                access_log \(folder.path)/access.log;
                client_body_temp_path \(folder.path)/body;
                proxy_temp_path \(folder.path)/proxy;
                fastcgi_temp_path \(folder.path)/fastcgi;
                uwsgi_temp_path \(folder.path)/uwsgi;
                scgi_temp_path \(folder.path)/scgi;
                upstream fieldgate {
            \(servers)
                }
                server {
                    listen 127.0.0.1:\(port);
                    client_max_body_size 0;
                    location / {
                        proxy_pass http://fieldgate;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_set_header Host $host;
                        proxy_set_header X-Forwarded-For $remote_addr;
                        proxy_request_buffering off;
                        proxy_buffering off;
                        proxy_read_timeout 600s;
                        proxy_send_timeout 600s;
                        proxy_next_upstream error timeout;
                    }
                }
            }
            """
        let file = folder.appendingPathComponent("nginx.conf")
        try Data(configuration.utf8).write(to: file)
        process = Process()
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-p", folder.path, "-c", file.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port) {
            guard process.isRunning, Date() < deadline else {
                stop()
                let log = (try? String(contentsOf: folder.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
                throw XCTSkipFailure("nginx did not start: \(log)")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// SIGTERM, then SIGKILL after 5 s: nginx may inherit SIGTERM blocked from the thread
    /// that started it.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    private static func accepts(_ port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
