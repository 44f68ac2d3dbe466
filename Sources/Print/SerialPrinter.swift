#if canImport(Glibc)
import Glibc
#endif

/// An ESC/POS printer behind a character device: `/dev/rfcommN` (a Bluetooth printer bound
/// by BlueZ), `/dev/usb/lpN`, or a pty in tests. Writes never block past the timeout: the
/// device is opened non-blocking and each write waits for room with poll(2).
public struct SerialPrinter: Sendable {
    public let name: String
    public let path: String

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    /// Whether the device file exists and is a character device.
    public static func isPresent(path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
    }

    /// Writes every byte, or fails naming the printer; `timeout` bounds each wait for room.
    public func send(_ bytes: [UInt8], timeoutMilliseconds: Int32 = 5000) throws(PrintError) {
        let descriptor = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            let reason = String(cString: strerror(code))
            switch code {
            case ENOENT, ENXIO, ENODEV: throw PrintError.absent(name, "\(path): \(reason)")
            case EACCES, EPERM: throw PrintError.noAccess(name, "\(path): \(reason) (add the user to group dialout for /dev/rfcommN, lp for /dev/usb/lpN)")
            case EBUSY: throw PrintError.refused(name, "\(path) is busy (another program holds it)")
            default: throw PrintError.refused(name, "\(path): \(reason)")
            }
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFCHR else {
            throw PrintError.refused(name, "\(path) is not a character device")
        }
        if isatty(descriptor) == 1 {
            // Raw: no newline translation or flow control characters, the bytes go as they are.
            var settings = termios()
            if tcgetattr(descriptor, &settings) == 0 {
                cfmakeraw(&settings)
                _ = tcsetattr(descriptor, TCSANOW, &settings)
            }
        }
        var offset = 0
        while offset < bytes.count {
            var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, timeoutMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw PrintError.refused(name, "\(path): \(String(cString: strerror(errno)))")
            }
            if ready == 0 {
                throw PrintError.timedOut(name, "\(path) took \(offset) of \(bytes.count) bytes, then nothing for \(timeoutMilliseconds) ms")
            }
            if poller.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && poller.revents & Int16(POLLOUT) == 0 {
                throw PrintError.absent(name, "\(path) hung up after \(offset) of \(bytes.count) bytes")
            }
            let written = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + offset, min(buffer.count - offset, 4096))
            }
            if written < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                if errno == EIO || errno == ENODEV || errno == ENXIO {
                    throw PrintError.absent(name, "\(path) went away after \(offset) of \(bytes.count) bytes: \(reason)")
                }
                throw PrintError.refused(name, "\(path): \(reason)")
            }
            offset += written
        }
    }
}
