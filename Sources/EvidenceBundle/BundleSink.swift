import CFileSystem
import Common
import Crypto
import Foundation

/// Where a bundle's files go: a folder, or a tar archive written as a stream. Paths are
/// relative to the bag's root, `/`-separated.
protocol BundleSink {
    /// A small file made in memory (tag files, JSON, signatures).
    mutating func write(_ path: String, bytes: Data) throws(BundleError)
    /// A blob copied in chunks and hashed on the way; it must hash to `sha256`.
    mutating func copy(_ path: String, from source: String, sha256: String) throws(BundleError)
    /// Makes everything written durable.
    mutating func finish() throws(BundleError)
}

/// Reads a file in fixed chunks, so a 10 GB recording costs one buffer of memory, hashing as
/// it goes; `finish` checks the whole against the expected SHA-256.
final class ChunkedReader {
    static let chunkSize = 1 << 20

    let path: String
    let size: Int64
    private let descriptor: Int32
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ChunkedReader.chunkSize, alignment: 16)
    private var hasher = SHA256()
    private var total: Int64 = 0

    init(path: String) throws(BundleError) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            buffer.deallocate()
            throw .io(path, String(cString: strerror(errno)))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            buffer.deallocate()
            throw .io(path, "not a regular file")
        }
        size = Int64(status.st_size)
    }

    deinit {
        close(descriptor)
        buffer.deallocate()
    }

    /// The next chunk (valid until the next call), or nil at the end.
    func next() throws(BundleError) -> UnsafeRawBufferPointer? {
        while true {
            let count = read(descriptor, buffer.baseAddress, Self.chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path, String(cString: strerror(errno)))
            }
            if count == 0 { return nil }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(bufferPointer: chunk)
            total += Int64(count)
            return chunk
        }
    }

    /// Whether what was read is the blob named `sha256`.
    func finish(expecting sha256: String) throws(BundleError) {
        let actual = hasher.finalize().hexString
        guard actual == sha256, total == size else { throw .damagedBlob(sha256: sha256, path: path, actual: actual) }
    }
}

/// Writes all of `bytes` to `descriptor`.
func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(BundleError) {
    guard let base = bytes.baseAddress else { return }
    var offset = 0
    while offset < bytes.count {
        let written = Foundation.write(descriptor, base + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            throw errno == ENOSPC ? .diskFull(path) : .io(path, String(cString: strerror(errno)))
        }
        offset += written
    }
}

func writeAll(_ descriptor: Int32, _ data: Data, path: String) throws(BundleError) {
    let copy = [UInt8](data)
    var failure: BundleError?
    copy.withUnsafeBytes { bytes in
        do { try writeAll(descriptor, bytes, path: path) } catch { failure = error as? BundleError ?? .io(path, "\(error)") }
    }
    if let failure { throw failure }
}

/// Copies a blob through `reader` to `descriptor`, checking its hash. Each chunk's writeback
/// starts at once, so the disk works while the next chunk is read and hashed, and the page
/// cache does not fill with dirty pages.
func copyAll(_ reader: ChunkedReader, to descriptor: Int32, path: String, sha256: String) throws(BundleError) {
    while let chunk = try reader.next() {
        try writeAll(descriptor, chunk, path: path)
        let end = lseek(descriptor, 0, SEEK_CUR)
        if end >= chunk.count { _ = fieldgate_start_writeback(descriptor, Int64(end) - Int64(chunk.count), Int64(chunk.count)) }
    }
    try reader.finish(expecting: sha256)
}

/// A bag as a folder; the folder must be new or empty.
struct DirectorySink: BundleSink {
    let root: URL
    private var folders: Set<String> = []

    init(root: URL) throws(BundleError) {
        self.root = root
        let manager = FileManager.default
        if let existing = try? manager.contentsOfDirectory(atPath: root.path), !existing.isEmpty {
            throw .destinationInUse(root.path)
        }
        do {
            try manager.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw .io(root.path, "\(error)")
        }
    }

    private mutating func create(_ path: String) throws(BundleError) -> Int32 {
        let url = root.appendingPathComponent(path)
        let folder = url.deletingLastPathComponent().path
        if folders.insert(folder).inserted {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch { throw .io(folder, "\(error)") }
        }
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(url.path, String(cString: strerror(errno))) }
        return descriptor
    }

    /// Each file durable as it is closed; a blob's writeback was started chunk by chunk, so
    /// there is little left to wait for.
    private func close(_ descriptor: Int32, _ path: String) throws(BundleError) {
        let synced = fdatasync(descriptor)
        let reason = String(cString: strerror(errno))
        _ = Foundation.close(descriptor)
        guard synced == 0 else { throw .io(root.appendingPathComponent(path).path, reason) }
    }

    mutating func write(_ path: String, bytes: Data) throws(BundleError) {
        let descriptor = try create(path)
        do {
            try writeAll(descriptor, bytes, path: path)
        } catch {
            _ = Foundation.close(descriptor)
            throw error
        }
        try close(descriptor, path)
    }

    mutating func copy(_ path: String, from source: String, sha256: String) throws(BundleError) {
        let reader = try ChunkedReader(path: source)
        let descriptor = try create(path)
        do {
            try copyAll(reader, to: descriptor, path: path, sha256: sha256)
        } catch {
            _ = Foundation.close(descriptor)
            throw error
        }
        try close(descriptor, path)
    }

    mutating func finish() throws(BundleError) {
        for folder in folders.union([root.path]) {
            let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if descriptor >= 0 {
                _ = fsync(descriptor)
                _ = Foundation.close(descriptor)
            }
        }
    }
}
