import CFileSystem
import Common
import Crypto
import Foundation
import NIOCore
import NIOPosix

/// The part files of tus uploads in progress: `<root>/<upload id>`, one per upload, written at
/// the acknowledged offset and synced before an offset is acknowledged.
struct UploadParts: Sendable {
    let root: URL
    init(root: URL) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func path(of uploadId: String) -> URL { root.appendingPathComponent(uploadId) }

    /// Creates the empty part file, durably.
    func create(_ uploadId: String) throws {
        let path = path(of: uploadId).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: path) }
        close(descriptor)
        try FileSync.syncFolder(root)
        FaultPoint.partCreated.reach()
    }

    func remove(_ uploadId: String) { unlink(path(of: uploadId).path) }

    /// Opens the part file for a chunk, cut back to `offset`: bytes past the acknowledged offset
    /// belong to no acknowledged chunk and are dropped.
    func openForChunk(_ uploadId: String, at offset: Int64) throws -> PartWriter {
        let path = path(of: uploadId).path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileError(path: path) }
        guard ftruncate(descriptor, off_t(offset)) == 0 else {
            let error = FileError(path: path)
            close(descriptor)
            throw error
        }
        return PartWriter(descriptor: descriptor, path: path, start: offset)
    }

    /// The part file's size in bytes.
    func size(of uploadId: String) throws -> Int64 {
        let path = path(of: uploadId).path
        var status = stat()
        guard stat(path, &status) == 0 else { throw FileError(path: path) }
        return Int64(status.st_size)
    }

    /// The SHA-256 (lower-case hex) and size of a whole part file, read in chunks.
    func sha256(of uploadId: String) throws -> (sha256: String, size: Int64) {
        try FileDigest.sha256(ofFileAt: path(of: uploadId).path)
    }

    /// The upload ids of the part files last written before `date`.
    func parts(writtenBefore date: Date) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { name in
            let modified = (try? FileManager.default.attributesOfItem(atPath: root.appendingPathComponent(name).path))?[.modificationDate] as? Date
            return modified.map { $0 < date } ?? false
        }
    }

    /// Whether the upload's part file exists.
    func exists(_ uploadId: String) -> Bool { FileManager.default.fileExists(atPath: path(of: uploadId).path) }
}

enum FileDigest {
    /// Bytes hashed at a time when a whole file is re-read.
    static let readChunkSize = 1 << 20

    /// The SHA-256 (lower-case hex) and size of a whole file, read in chunks.
    static func sha256(ofFileAt path: String) throws -> (sha256: String, size: Int64) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: path) }
        defer { close(descriptor) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: readChunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path)
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            size += Int64(count)
        }
        return (hasher.finalize().hexString, size)
    }
}

/// Writes one chunk to a part file. Not shared between tasks: one PATCH owns it. The writes are
/// plain calls on the request's task (each one body buffer, tens of KiB, into the page cache);
/// the sync, which waits for the disk, runs on the blocking-I/O threads so that the other
/// uploads' requests keep being served meanwhile.
/// Every ``writebackStep`` bytes the kernel is told to start writing them out, so the sync that
/// acknowledges the chunk waits only for the last few MiB instead of the whole chunk.
final class PartWriter: ChunkWriter {
    let descriptor: Int32
    let path: String
    let start: Int64
    private(set) var written: Int64 = 0
    private var writebackStarted: Int64 = 0
    static let writebackStep: Int64 = 8 << 20

    init(descriptor: Int32, path: String, start: Int64) {
        self.descriptor = descriptor
        self.path = path
        self.start = start
    }

    deinit { close(descriptor) }

    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { try write($0) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(start + written))
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path)
            }
            done += count
            written += Int64(count)
        }
        if written - writebackStarted >= Self.writebackStep {
            // Only a hint: a failure here shows up at the sync, which is checked.
            _ = fieldgate_start_writeback(descriptor, start + writebackStarted, written - writebackStarted)
            writebackStarted = written
        }
    }

    /// Drops everything this chunk wrote.
    func discard() { _ = ftruncate(descriptor, off_t(start)) }

    func acknowledged() {}

    /// Makes the chunk's bytes durable.
    func commit() async throws {
        try await BlockingIO.run { [descriptor, path] in
            guard fdatasync(descriptor) == 0 else { throw FileError(path: path) }
        }
        FaultPoint.chunkSynced.reach()
    }
}

/// Calls that wait for the disk (syncs, whole-file reads), run on NIO's blocking-I/O thread
/// pool rather than on the threads that serve requests.
enum BlockingIO {
    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
