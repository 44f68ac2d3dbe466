import Common
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What two fieldgate processes on one store must not do at once: collect the same camera,
/// or run two syncs. The station and a `collect` or `sync` typed by hand coordinate through
/// these locks (flock on a file in the store), which the kernel releases when their holder
/// ends, however it ends — a killed process never leaves one behind.
public enum StoreLockName: Sendable, Hashable, CustomStringConvertible {
    case camera(serial: String)
    case sync

    /// A file name that any serial maps to safely (hex of its bytes: no `/`, NUL or dots).
    var fileName: String {
        switch self {
        case .camera(let serial): "camera-" + Array(serial.utf8).hexString + ".lock"
        case .sync: "sync.lock"
        }
    }

    public var description: String {
        switch self {
        case .camera(let serial): "collection of camera \(serial)"
        case .sync: "sync"
        }
    }
}

/// A held lock; released by `release()` or when the object goes away.
public final class StoreLock: @unchecked Sendable {
    public let name: StoreLockName
    private var descriptor: Int32
    private let mutex = NSLock()

    init(name: StoreLockName, descriptor: Int32) {
        self.name = name
        self.descriptor = descriptor
    }

    public func release() {
        mutex.withLock {
            guard descriptor >= 0 else { return }
            close(descriptor)  // closing the only descriptor drops the flock
            descriptor = -1
        }
    }

    deinit { release() }
}

extension EvidenceStore {
    /// Takes `name` if no other process (or other holder in this one) has it; nil when held.
    public func tryLock(_ name: StoreLockName) throws(StoreError) -> StoreLock? {
        let folder = home.appendingPathComponent("locks")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(name.fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw StoreError.io(path, String(cString: strerror(errno))) }
        // flock locks belong to the open file description, so a second open in this same process
        // is refused too: two bays of one station never take the same camera.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        return StoreLock(name: name, descriptor: descriptor)
    }

    /// Takes `name`, waiting while another holder has it, polling until `deadline` (nil: wait for ever).
    public func lock(_ name: StoreLockName, until deadline: Date? = nil,
                     waiting: () -> Void = {}) async throws -> StoreLock? {
        var told = false
        while true {
            if let held = try tryLock(name) { return held }
            if !told { waiting(); told = true }
            if let deadline, Date() >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}
