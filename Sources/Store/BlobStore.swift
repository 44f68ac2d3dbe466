import CFileSystem
import Common
import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Content-addressed files: `objects/sha256/ab/<64 hex digits>`, one folder level of 256 (git's
/// layout): a second level made nearly every small blob cost a mkdir. A blob is written to a
/// temporary file while it is hashed in the same pass, made durable, then renamed into place,
/// so a blob's name always matches its bytes, even after a crash.
public struct BlobStore: Sendable {
    public let root: URL
    public var objects: URL { root.appendingPathComponent("objects/sha256") }
    public var temporary: URL { root.appendingPathComponent("tmp") }
    // The same two folders as plain paths: a small file's copy is a few syscalls, and building
    // URLs for each cost more than they did.
    private let objectsPath: String
    private let temporaryPath: String
    /// Bytes read and hashed at a time: bounds memory whatever the file size.
    public static let chunkSize = 1 << 20

    public init(root: URL) throws(StoreError) {
        self.root = root
        objectsPath = root.appendingPathComponent("objects/sha256").path
        temporaryPath = root.appendingPathComponent("tmp").path
        for folder in [objects, temporary] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw StoreError.io(folder.path, error.localizedDescription)
            }
        }
    }

    /// Removes temporary files a killed process left behind; they were never committed.
    @discardableResult
    public func removeOrphanTemporaries() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names { unlink(temporary.appendingPathComponent(name).path) }
        return names.count
    }

    /// Where the blob with this hash lives.
    public func path(of sha256: String) -> URL { URL(fileURLWithPath: filePath(of: sha256)) }

    private func folderPath(of sha256: String) -> String { objectsPath + "/" + sha256.prefix(2) }
    private func filePath(of sha256: String) -> String { folderPath(of: sha256) + "/" + sha256 }

    public func contains(_ sha256: String) -> Bool { access(filePath(of: sha256), F_OK) == 0 }

    /// A blob copied and hashed into a durable temporary file, not yet in place.
    public struct Staged: Sendable {
        public let sha256: String
        public let size: Int64
        /// The source's size or time changed during the copy: the bytes may be a mix of old and new.
        public let changedWhileCopying: Bool
        /// The staged copy, readable until it is placed.
        public let temporaryPath: String
    }

    /// Drops a staged copy that will not be kept.
    /// The error for a failed create or write: a full disk (or quota) is its own case, since
    /// collection stops on it rather than skipping the file; on a full disk even creating the
    /// temporary file can fail.
    static func writeError(_ path: String) -> StoreError {
        errno == ENOSPC || errno == EDQUOT ? .diskFull(path) : .io(path, errnoText())
    }

    public func discard(_ staged: Staged) { unlink(staged.temporaryPath) }

    /// Copies an open source file into a durable temporary file, hashing it on the way.
    /// - Parameters:
    ///   - descriptor: open for reading; its size and modification time are compared before
    ///     and after the copy (see `Staged.changedWhileCopying`).
    ///   - name: how errors name the source.
    ///   - progress: called with the bytes copied by each chunk.
    ///   - durable: false leaves the bytes to one `syncStaged()` for a whole batch of staged
    ///     files, which the caller must call before placing any of them (small files, where an
    ///     fdatasync each would cost more than the copy).
    ///   - whileOpen: given the staged copy's descriptor (readable, by offset) once it is
    ///     complete, e.g. to probe its content without opening it again.
    public func stage(descriptor: Int32, name: String, durable: Bool = true,
                      progress: (Int) -> Void = { _ in }, whileOpen: (Int32) -> Void = { _ in }) throws(StoreError) -> Staged {
        var before = stat()
        guard fstat(descriptor, &before) == 0 else { throw StoreError.unreadable(name, errnoText()) }
        guard (before.st_mode & S_IFMT) == S_IFREG else { throw StoreError.notARegularFile(name) }
        let temporaryPath = newTemporaryPath()
        let output = open(temporaryPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw Self.writeError(temporaryPath) }
        var keep = false
        defer {
            close(output)
            if !keep { unlink(temporaryPath) }
        }
        var hasher = SHA256()
        var total: Int64 = 0
        try Self.forEachChunk(of: descriptor, name: name, sizeHint: Int64(before.st_size)) { chunk throws(StoreError) in
            hasher.update(bufferPointer: chunk)
            try writeAll(output, chunk, path: temporaryPath)
            total += Int64(chunk.count)
            progress(chunk.count)
        }
        var after = stat()
        guard fstat(descriptor, &after) == 0 else { throw StoreError.unreadable(name, errnoText()) }
        let changed = after.st_size != before.st_size || total != Int64(after.st_size)
            || after.st_mtim.tv_sec != before.st_mtim.tv_sec || after.st_mtim.tv_nsec != before.st_mtim.tv_nsec
        if durable, fdatasync(output) != 0 {
            throw Self.writeError(temporaryPath)
        }
        whileOpen(output)
        keep = true
        return Staged(sha256: hasher.finalize().hexString, size: total, changedWhileCopying: changed, temporaryPath: temporaryPath)
    }

    /// Writes bytes made in memory (a print job, a fingerprint image) into a durable temporary
    /// file, hashed on the way, ready to `place` like a copied file.
    public func stage(bytes: [UInt8]) throws(StoreError) -> Staged {
        let temporaryPath = newTemporaryPath()
        let output = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw Self.writeError(temporaryPath) }
        var keep = false
        defer {
            close(output)
            if !keep { unlink(temporaryPath) }
        }
        var failure: StoreError?
        bytes.withUnsafeBytes { buffer in
            do throws(StoreError) { try writeAll(output, buffer, path: temporaryPath) } catch { failure = error }
        }
        if let failure { throw failure }
        if fdatasync(output) != 0 {
            throw Self.writeError(temporaryPath)
        }
        keep = true
        return Staged(sha256: SHA256.hash(data: bytes).hexString, size: Int64(bytes.count), changedWhileCopying: false,
                      temporaryPath: temporaryPath)
    }

    /// The bytes of a stored blob; nil when it is missing.
    public func contents(of sha256: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path(of: sha256).path).map { [UInt8]($0) }
    }

    private func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw Self.writeError(path)
            }
            offset += written
        }
    }

    /// Moves a staged blob into place (or drops it when an identical blob is there already)
    /// and returns the folder whose entry changed, which the caller must sync before
    /// committing rows that point at the blob.
    public func place(_ staged: Staged) throws(StoreError) -> URL {
        let folder = folderPath(of: staged.sha256)
        let destination = filePath(of: staged.sha256)
        let placed = URL(fileURLWithPath: folder, isDirectory: true)
        // One call in the common case: the rename fails if an identical blob is there already
        // (EEXIST) or its folder is not made yet (ENOENT).
        var renamed = fieldgate_rename_noreplace(staged.temporaryPath, destination) == 0
        if !renamed && errno == ENOENT {
            if mkdir(folder, 0o700) != 0 && errno != EEXIST { throw StoreError.io(folder, errnoText()) }
            renamed = fieldgate_rename_noreplace(staged.temporaryPath, destination) == 0
        }
        if !renamed && errno == EINVAL {  // a file system without RENAME_NOREPLACE
            if access(destination, F_OK) == 0 { errno = EEXIST } else { renamed = rename(staged.temporaryPath, destination) == 0 }
        }
        if renamed { return placed }
        let reason = errno
        unlink(staged.temporaryPath)
        if reason == EEXIST { return placed }  // the same bytes, already in place
        throw StoreError.io(destination, errnoText(reason))
    }

    /// A new name in tmp/ (opened with O_EXCL, so a clash is an error, never a mix-up): this
    /// process's random prefix and a count, since a UUID each reads /dev/urandom (three calls
    /// per small file).
    private func newTemporaryPath() -> String {
        temporaryPath + "/stage-" + Self.processPrefix + "-" + String(Self.stagedCount.add(1, ordering: .relaxed).newValue)
    }
    private static let processPrefix = "\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    private static let stagedCount = Atomic<Int>(0)

    /// Makes the bytes of every file staged with `durable: false` durable, with one syncfs(2)
    /// of the store's file system, before they are placed: a blob's name still only ever
    /// points at durable bytes.
    public func syncStaged() throws(StoreError) {
        let descriptor = open(temporary.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StoreError.io(temporary.path, errnoText()) }
        defer { close(descriptor) }
        guard fieldgate_syncfs(descriptor) == 0 else {
            throw errno == ENOSPC || errno == EDQUOT ? .diskFull(temporary.path) : .io(temporary.path, errnoText())
        }
    }

    /// Makes renamed entries durable before rows point at them. One syncfs(2) of the store's
    /// file system covers every folder a batch touched (each blob's bytes were already synced
    /// before its rename), which costs far less than an fsync per folder when small files
    /// scatter over many objects/ab folders.
    public func syncFolders(_ folders: Set<URL>) throws(StoreError) {
        guard !folders.isEmpty else { return }
        let descriptor = open(objects.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw StoreError.io(objects.path, errnoText()) }
        defer { close(descriptor) }
        guard fieldgate_syncfs(descriptor) == 0 else { throw StoreError.io(objects.path, errnoText()) }
    }

    /// Re-hashes a stored blob; nil when it is missing.
    public func hash(of sha256: String) throws(StoreError) -> String? {
        let path = path(of: sha256).path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw StoreError.unreadable(path, errnoText())
        }
        defer { close(descriptor) }
        var hasher = SHA256()
        try Self.forEachChunk(of: descriptor, name: path) { chunk in hasher.update(bufferPointer: chunk) }
        return hasher.finalize().hexString
    }
}

extension BlobStore {
    /// Reads a file to its end through one buffer of at most `chunkSize` bytes; a file expected
    /// to be small (`sizeHint`) gets a buffer its size, not a megabyte mapped and unmapped for it.
    static func forEachChunk(of descriptor: Int32, name: String, sizeHint: Int64? = nil,
                             _ body: (UnsafeRawBufferPointer) throws(StoreError) -> Void) throws(StoreError) {
        let wanted = sizeHint.map { Int(min(Int64(chunkSize), max(4096, ($0 + 1 + 4095) / 4096 * 4096))) } ?? chunkSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: wanted, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw StoreError.unreadable(name, errnoText())
            }
            if count == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}

