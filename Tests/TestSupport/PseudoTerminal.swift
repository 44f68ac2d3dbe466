import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A pty pair standing in for a Bluetooth printer's /dev/rfcommN: the gateway writes to
/// `path` (the pty's terminal side); the test reads what arrived from the other side.
public final class PseudoTerminal: @unchecked Sendable {
    public let path: String
    private let master: Int32
    private let slave: Int32
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var reading = false

    private let links: URL

    public init() throws {
        // While a umockdev testbed is up, its preload redirects opens of /dev/… paths into the
        // testbed (in this process and in the children that inherit it). A symlink from
        // elsewhere is opened as the real device, as a printer's `socat … link=` path would be.
        links = FileManager.default.temporaryDirectory.appendingPathComponent("fieldgate-pty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
        let multiplexer = links.appendingPathComponent("ptmx").path
        try FileManager.default.createSymbolicLink(atPath: multiplexer, withDestinationPath: "/dev/ptmx")
        // posix_openpt/unlockpt/ptsname by hand: Swift's Glibc module leaves them out. The ioctl
        // numbers are Linux's TIOCSPTLCK and TIOCGPTN (the same on x86_64 and arm64).
        master = open(multiplexer, O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0, number: UInt32 = 0
        guard master >= 0, ioctl(master, 0x4004_5431, &unlock) == 0, ioctl(master, 0x8004_5430, &number) == 0 else {
            throw NSError(domain: "pty", code: Int(errno))
        }
        path = links.appendingPathComponent("rfcomm0").path
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/pts/\(number)")
        // Held open so the pty stays up between the gateway's writes.
        slave = open(path, O_RDWR | O_NOCTTY)
        var settings = termios()
        tcgetattr(slave, &settings)
        cfmakeraw(&settings)
        tcsetattr(slave, TCSANOW, &settings)
    }

    deinit {
        lock.withLock { reading = false }
        close(slave)
        close(master)
        try? FileManager.default.removeItem(at: links)
    }

    /// Starts collecting everything written to `path`.
    public func startReading() {
        lock.withLock { reading = true }
        let master = master
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while lock.withLock({ reading }) {
                var poller = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 50) > 0 else { continue }
                let count = read(master, &buffer, buffer.count)
                if count <= 0 { break }
                lock.withLock { bytes += buffer.prefix(count) }
            }
        }
    }

    /// What arrived so far.
    public var received: [UInt8] { lock.withLock { bytes } }

    /// Waits until `count` bytes arrived (or `timeout` passed) and returns what arrived.
    public func waitForBytes(_ count: Int, timeout: TimeInterval = 5) -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        while received.count < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return received
    }

    /// Stops the terminal's output as XOFF would: a printer whose buffer is full. Writers get
    /// no room until it restarts.
    public func stopOutput() { tcflow(slave, TCOOFF) }
}
