import Foundation

/// Where verified blobs' bytes live, by SHA-256: a folder (``FolderBlobStorage``, the default)
/// or a bucket of an S3-compatible store (``ObjectBlobStorage``).
protocol BlobStorage: Sendable {
    /// Whether the blob's bytes are present.
    func contains(_ sha256: String) async throws -> Bool
    /// Takes a complete, verified file into the store under its hash, durably, and removes the
    /// file. When the blob is held already (another gateway sent it), the file is dropped instead.
    func store(verifiedFile: URL, sha256: String) async throws
    /// The SHA-256 and size of the bytes stored under this hash, read again; nil when absent.
    func sha256(of sha256: String) async throws -> (sha256: String, size: Int64)?
    /// `length` bytes of the blob from `offset`; nil when it is absent or shorter.
    func read(_ sha256: String, offset: Int64, length: Int) async throws -> Data?
    /// Drops bytes stored under a hash they do not have (found on recovery, never recorded as held).
    func remove(_ sha256: String) async throws
    /// A file holding the blob's bytes, for work that reads files (a bundle's export): the blob
    /// itself in a folder store; otherwise a copy fetched into `scratch`, which the caller removes.
    func localFile(of sha256: String, scratch: URL) async throws -> URL?
}

/// Blobs in a folder: `<root>/sha256/<first 2 hex>/<64 hex>`. A blob arrives by rename of a
/// synced file, then its folder is synced, so a name always matches complete bytes.
struct FolderBlobStorage: BlobStorage {
    let root: URL

    init(root: URL) throws {
        self.root = root
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sha256"), withIntermediateDirectories: true)
    }

    func path(of sha256: String) -> URL {
        root.appendingPathComponent("sha256").appendingPathComponent(String(sha256.prefix(2))).appendingPathComponent(sha256)
    }

    func contains(_ sha256: String) -> Bool { FileManager.default.fileExists(atPath: path(of: sha256).path) }

    func store(verifiedFile: URL, sha256: String) async throws {
        try await BlockingIO.run { try storeNow(verifiedFile: verifiedFile, sha256: sha256) }
    }

    /// ``store(verifiedFile:sha256:)`` on the calling thread (which may wait for the disk).
    func storeNow(verifiedFile: URL, sha256: String) throws {
        let destination = path(of: sha256)
        let folder = destination.deletingLastPathComponent()
        FaultPoint.blobVerified.reach()
        if FileManager.default.fileExists(atPath: destination.path) {
            unlink(verifiedFile.path)
            return
        }
        if mkdir(folder.path, 0o700) != 0 && errno != EEXIST { throw FileError(path: folder.path) }
        guard rename(verifiedFile.path, destination.path) == 0 else { throw FileError(path: destination.path) }
        try FileSync.syncFolder(folder)
        try FileSync.syncFolder(folder.deletingLastPathComponent())
        FaultPoint.blobStored.reach()
    }

    func sha256(of sha256: String) async throws -> (sha256: String, size: Int64)? {
        let path = path(of: sha256).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try await BlockingIO.run { try FileDigest.sha256(ofFileAt: path) }
    }

    func remove(_ sha256: String) { unlink(path(of: sha256).path) }

    func localFile(of sha256: String, scratch: URL) -> URL? {
        contains(sha256) ? path(of: sha256) : nil
    }

    func read(_ sha256: String, offset: Int64, length: Int) async throws -> Data? {
        let path = path(of: sha256).path
        return try await BlockingIO.run {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            defer { close(descriptor) }
            var bytes = Data(count: length)
            var done = 0
            while done < length {
                let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, length - done, off_t(offset) + off_t(done)) }
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw FileError(path: path) }
                if got == 0 { return nil }
                done += got
            }
            return bytes
        }
    }
}

/// A failed system call on a file, named with its reason.
struct FileError: Error, CustomStringConvertible {
    let path: String
    let reason: String

    init(path: String, errno code: Int32 = errno) {
        self.path = path
        reason = String(cString: strerror(code))
    }

    var description: String { "\(path): \(reason)" }
}

enum FileSync {
    /// Makes a folder's entries (a rename, a new file) durable.
    static func syncFolder(_ folder: URL) throws {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileError(path: folder.path) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileError(path: folder.path) }
    }
}
