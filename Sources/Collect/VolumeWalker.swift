import CFileSystem
import Common
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A file found on a volume, named by its raw path bytes (names need not be UTF-8).
public struct VolumeEntry: Sendable, Equatable {
    /// Path relative to the volume's root, as bytes, components joined by "/".
    public var path: [UInt8]
    public var size: Int64
    public var modified: Date

    /// The last component.
    public var name: [UInt8] { Array(path.split(separator: UInt8(ascii: "/")).last ?? []) }
    public var displayPath: String { displayName(path) }
}

/// Something on the volume that was not collected, and why.
public struct SkippedEntry: Sendable, Equatable, Codable {
    public var path: String
    public var reason: String
}

/// Walks a volume without following symlinks, to a bounded depth, by raw names.
public enum VolumeWalker {
    public static let maximumDepth = 16

    /// Every regular file under `root`, sorted by path, and what was skipped (symlinks,
    /// devices, folders too deep or unreadable).
    public static func walk(_ root: String) throws(CollectError) -> (files: [VolumeEntry], skipped: [SkippedEntry]) {
        try walk(OpenVolume(root))
    }

    /// Every regular file of an open volume, as `walk(_:)` lists them.
    public static func walk(_ volume: OpenVolume) throws(CollectError) -> (files: [VolumeEntry], skipped: [SkippedEntry]) {
        let descriptor = dup(volume.descriptor)
        guard descriptor >= 0 else { throw CollectError.volumeUnreadable(volume.path, String(cString: strerror(errno))) }
        var files: [VolumeEntry] = []
        var skipped: [SkippedEntry] = []
        walk(folder: descriptor, prefix: [], depth: 0, files: &files, skipped: &skipped)
        return (files.sorted { $0.path.lexicographicallyPrecedes($1.path) }, skipped)
    }

    /// Reads one folder; takes ownership of `folder`.
    private static func walk(folder: Int32, prefix: [UInt8], depth: Int, files: inout [VolumeEntry], skipped: inout [SkippedEntry]) {
        guard let stream = fdopendir(folder) else {
            close(folder)
            skipped.append(SkippedEntry(path: displayName(prefix), reason: "folder cannot be read: \(String(cString: strerror(errno)))"))
            return
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while let entry = readdir(stream) {
            let name = direntName(entry)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        for name in names {
            let path = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
            var info = stat()
            let status = name.withUnsafeBufferPointer { buffer in
                (buffer.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer {
                    fstatat(dirfd(stream), $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW)
                }
            }
            guard status == 0 else {
                skipped.append(SkippedEntry(path: displayName(path), reason: "cannot be examined: \(String(cString: strerror(errno)))"))
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                let modified = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9)
                files.append(VolumeEntry(path: path, size: Int64(info.st_size), modified: modified))
            case S_IFDIR:
                guard depth + 1 < maximumDepth else {
                    skipped.append(SkippedEntry(path: displayName(path), reason: "folder nested deeper than \(maximumDepth) levels"))
                    continue
                }
                let child = openAt(dirfd(stream), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child < 0 {
                    skipped.append(SkippedEntry(path: displayName(path), reason: "folder cannot be opened: \(String(cString: strerror(errno)))"))
                } else {
                    walk(folder: child, prefix: path, depth: depth + 1, files: &files, skipped: &skipped)
                }
            case S_IFLNK:
                skipped.append(SkippedEntry(path: displayName(path), reason: "symbolic link, not followed (a recording is a regular file on the volume)"))
            default:
                skipped.append(SkippedEntry(path: displayName(path), reason: "not a regular file"))
            }
        }
    }

    /// The entry's name, read in place up to its NUL. `d_name` is declared 256 bytes long, but
    /// glibc's records are only as long as their name (`d_reclen`): copying the declared array
    /// reads past the record, and past the end of readdir's buffer when the record is its last
    /// (a crash seen on a folder of 10,000 photos).
    static func direntName(_ entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        let start = UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let length = strlen(start.assumingMemoryBound(to: CChar.self))
        return Array(UnsafeRawBufferPointer(start: start, count: length))
    }

    /// Opens `name` relative to the folder `folder` (never following a final symlink).
    static func openAt(_ folder: Int32, _ name: [UInt8], _ flags: Int32) -> Int32 {
        (name.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { openat(folder, $0.baseAddress!, flags) }
    }

    /// Opens a file of the volume by its relative path, refusing symlinks at every step and
    /// any path that leaves the volume: one openat2(2) below the volume's folder, or, on a
    /// kernel without it, a walk one component at a time.
    static func openFile(in volume: OpenVolume, path: [UInt8], flags: Int32 = O_RDONLY) -> (descriptor: Int32, error: Int32) {
        let descriptor = (path.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer {
            fieldgate_open_beneath(volume.descriptor, $0.baseAddress!, flags | O_NOFOLLOW | O_CLOEXEC)
        }
        if descriptor >= 0 { return (descriptor, 0) }
        guard errno == ENOSYS else { return (-1, errno) }
        return openByComponents(in: volume, path: path, flags: flags)
    }

    /// The same, one component at a time: each folder opened with O_NOFOLLOW, ".." refused.
    static func openByComponents(in volume: OpenVolume, path: [UInt8], flags: Int32 = O_RDONLY) -> (descriptor: Int32, error: Int32) {
        let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
        guard !parts.isEmpty, !parts.contains(where: { $0.isEmpty || $0 == [0x2E, 0x2E] }) else { return (-1, EXDEV) }
        var folder = volume.descriptor
        defer { if folder != volume.descriptor { close(folder) } }
        for part in parts.dropLast() {
            let next = openAt(folder, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let failure = errno
            guard next >= 0 else { return (-1, failure) }
            if folder != volume.descriptor { close(folder) }
            folder = next
        }
        let file = openAt(folder, parts[parts.count - 1], flags | O_NOFOLLOW | O_CLOEXEC)
        return file >= 0 ? (file, 0) : (-1, errno)
    }

    /// Removes a file of the volume by its relative path, through the same checks as opening it.
    static func removeFile(in volume: OpenVolume, path: [UInt8]) -> Int32 {
        var parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
        guard let name = parts.popLast(), !name.isEmpty, name != [0x2E, 0x2E] else { return EXDEV }
        var folder = volume.descriptor
        if !parts.isEmpty {
            let opened = openFile(in: volume, path: Array(parts.joined(separator: [UInt8(ascii: "/")])), flags: O_RDONLY | O_DIRECTORY)
            guard opened.descriptor >= 0 else { return opened.error }
            folder = opened.descriptor
        }
        defer { if folder != volume.descriptor { close(folder) } }
        let removed = (name.map { CChar(bitPattern: $0) } + [0]).withUnsafeBufferPointer { unlinkat(folder, $0.baseAddress!, 0) }
        return removed == 0 ? 0 : errno
    }
}

/// A camera's volume held open while it is collected: its files are opened below this folder
/// descriptor, one call each, instead of walking from the mount point's path every time.
public final class OpenVolume: Sendable {
    public let path: String
    let descriptor: Int32

    public init(_ path: String) throws(CollectError) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CollectError.volumeUnreadable(path, String(cString: strerror(errno))) }
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}

/// A path for people: valid UTF-8 as it is (control characters escaped), other bytes as \xNN.
public func displayName(_ bytes: [UInt8]) -> String {
    // Most names are plain UTF-8 with nothing to escape: shown as they are, without the walk.
    if let plain = String(validating: bytes, as: UTF8.self),
       !plain.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0.value == 0x5C }) {
        return plain
    }
    var text = ""
    var index = 0
    while index < bytes.count {
        var decoded: String?
        var length = 1
        let lead = bytes[index]
        let expected = lead < 0x80 ? 1 : lead >> 5 == 0x6 ? 2 : lead >> 4 == 0xE ? 3 : lead >> 3 == 0x1E ? 4 : 0
        if expected > 0, index + expected <= bytes.count {
            let slice = Array(bytes[index..<index + expected])
            if let string = String(validating: slice, as: UTF8.self) {
                decoded = string
                length = expected
            }
        }
        if let decoded, let scalar = decoded.unicodeScalars.first, scalar.value >= 0x20, scalar.value != 0x7F, scalar.value != 0x5C {
            text += decoded
        } else if lead == 0x5C {
            text += "\\\\"
        } else {
            text += "\\x" + Hex.byte(lead)
        }
        index += length
    }
    return text
}
