import AsyncHTTPClient
import Common
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import Store
import SyncProtocol
import Synchronization

/// How one blob's upload ended.
enum UploadOutcome: Sendable, Equatable {
    /// The server has the whole blob, verified; `sentBytes` went over the wire in this run.
    case completed(sentBytes: Int64)
    /// This gateway's own stored copy is unreadable or fails its own hash: nothing intact to send.
    case refused(String)
}

/// Uploads one blob with tus 1.0: creation, then PATCH chunks each with an `Upload-Checksum`;
/// a blob no larger than one chunk goes in the creation request itself (creation-with-upload).
/// The upload's URL and every acknowledged offset are kept in the store, so a killed process,
/// a dropped connection or a restarted server resumes (HEAD) where the server says it stands.
///
/// A chunk is never held in memory whole: its checksum is computed by reading it from the
/// stored copy, then its body is read again, piece by piece, as the connection takes it. The
/// next chunk's checksum is computed while the current one is on the wire, so hashing costs
/// no time on the link. One uploader sends one request at a time for its upload: tus offsets
/// are sequential, and the server holds one writer per upload.
struct TusUploader: Sendable {
    let connection: ServerConnection
    let store: EvidenceStore
    let chunkSize: Int
    let limiter: RateLimiter?
    /// The rate `limiter` allows, for request timeouts.
    let limitRate: Int64?
    /// Called with the bytes the server has acknowledged of this blob so far.
    let progress: @Sendable (Int64) -> Void
    /// The chunks' `Upload-Checksum`: CRC-32C when the server offers it.
    var checksumAlgorithm: Tus.ChecksumAlgorithm = .sha1

    /// A chunk whose checksum keeps failing is given up after this many tries.
    static let checksumAttempts = 3
    /// How long, in all, an upload waits (backing off) while the server says another request
    /// holds it (409/423) — longer than the server's read timeout, after which a stalled request
    /// lets go — before the sync moves on and leaves it to the next run.
    static let busyPatience: Double = 90
    /// Fresh uploads of one blob after the server found the whole blob did not match its hash
    /// (while this gateway's own copy matches): past that the item waits for the next sync.
    static let freshStarts = 2

    func upload(sha256: String, length: Int64, batchId: String) async throws(SyncError) -> UploadOutcome {
        let path = store.blobs.path(of: sha256).path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return .refused("the stored copy \(path) cannot be read: \(String(cString: strerror(errno))) (run `fieldgate audit verify`)")
        }
        let file = OpenFile(descriptor: descriptor, path: path)
        var attempt = UploadAttempt(sha256: sha256, length: length)
        while true {
            if let outcome = try await sendAll(file, batchId: batchId, attempt: &attempt) { return outcome }
            // The server found the whole blob did not match: refused only when this gateway's
            // own copy fails its own hash; otherwise the upload starts afresh, a bounded number of times.
            if let damage = try Self.ownCopyDamage(file, sha256: sha256, length: length) {
                return .refused(damage)
            }
            attempt.freshStarts += 1
            guard attempt.freshStarts <= Self.freshStarts else {
                throw .retryLater("the server found the upload of \(sha256) did not match its hash \(attempt.freshStarts) times, although this gateway's copy matches")
            }
        }
    }

    /// What one blob's upload has met so far, across fresh starts.
    private struct UploadAttempt {
        let sha256: String
        let length: Int64
        var sent: Int64 = 0
        var freshStarts = 0
        /// Seconds waited so far because the server said another request holds the upload.
        var busyWaited: Double = 0
        var busyRetries = 0
    }

    /// Sends the blob from where the server stands to its end; the upload counts as done only
    /// once the server answered its final offset (a HEAD that reports every byte is followed
    /// by an empty PATCH at that offset, which makes the server complete the upload if a crash
    /// interrupted it). Nil when the server discarded the upload as not matching its hash.
    private func sendAll(_ file: OpenFile, batchId: String, attempt: inout UploadAttempt) async throws(SyncError) -> UploadOutcome? {
        let sha256 = attempt.sha256, length = attempt.length
        if try stored(sha256) == nil, length <= Int64(chunkSize) {
            switch try await createWithUpload(file, sha256: sha256, length: length, batchId: batchId) {
            case .finished:
                attempt.sent += length
                return .completed(sentBytes: attempt.sent)
            case .mismatch:
                return nil
            case .continueWithPatches(let alreadySent):
                attempt.sent += alreadySent
            }
        }
        var (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
        var checksumFailures = 0
        var transientFailures = 0
        var prepared: PreparedChunk?
        progress(offset)
        while true {
            let count = Int(min(Int64(chunkSize), length - offset))
            let checksum: String
            if let prepared, prepared.offset == offset, prepared.count == count {
                checksum = prepared.checksum
            } else {
                checksum = try Self.checksum(of: file, offset: offset, count: count, algorithm: checksumAlgorithm).get()
            }
            prepared = nil
            // The next chunk's checksum, computed while this one is sent.
            let nextOffset = offset + Int64(count)
            let nextCount = Int(min(Int64(chunkSize), length - nextOffset))
            async let upcoming = nextCount > 0 ? Self.checksum(of: file, offset: nextOffset, count: nextCount, algorithm: checksumAlgorithm) : nil
            let result = await sendChunk(file, url: url, offset: offset, count: count, checksum: checksum)
            if case .success(let next)? = await upcoming { prepared = PreparedChunk(offset: nextOffset, count: nextCount, checksum: next) }
            let answer: ServerAnswer
            switch result {
            case .success(let received):
                answer = received
            case .failure(let error):
                guard error.isTransient, transientFailures + 1 < connection.retry.attempts else { throw error }
                try await connection.pause(beforeRetry: transientFailures)
                transientFailures += 1
                (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
                continue
            }
            switch answer.status {
            case 204, 200:
                guard let next = answer.headers.first(name: Tus.Header.uploadOffset).flatMap(Int64.init), next == offset + Int64(count) else {
                    throw .protocolViolation("PATCH \(url) answered Upload-Offset \(answer.headers.first(name: Tus.Header.uploadOffset) ?? "none") after \(count) bytes at \(offset)")
                }
                attempt.sent += Int64(count)
                offset = next
                transientFailures = 0
                checksumFailures = 0
                attempt.busyRetries = 0
                progress(offset)
                if offset == length {
                    return .completed(sentBytes: attempt.sent)
                }
                try save(SyncUpload(sha256: sha256, url: url, offset: offset, length: length))
            case Tus.checksumMismatchStatus:
                // The chunk was damaged on the way: the server kept none of it; send it again.
                checksumFailures += 1
                guard checksumFailures < Self.checksumAttempts else {
                    throw .protocolViolation("PATCH \(url) at offset \(offset): checksum mismatch \(checksumFailures) times in a row (\(answer.reason))")
                }
            case 409, 423:
                try await waitWhileBusy(url: url, answer: answer, attempt: &attempt)
                (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
            case 404, 410:
                try remove(sha256)
                (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
            case 422:
                try remove(sha256)
                return nil
            case 401:
                throw .unauthorized(answer.reason)
            case 429, 500...:
                guard transientFailures + 1 < connection.retry.attempts else {
                    throw .unreachable("PATCH \(url): \(answer.reason) (after \(connection.retry.attempts) tries)")
                }
                try await connection.pause(beforeRetry: transientFailures)
                transientFailures += 1
                (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
            default:
                throw .protocolViolation("PATCH \(url) at offset \(offset): \(answer.reason)")
            }
        }
    }

    /// Backs off while the server says another request holds the upload (a stalled one it has
    /// not yet timed out, or another gateway process): each wait longer, up to
    /// ``busyPatience`` in all, then the sync moves on, saying what it waited for.
    private func waitWhileBusy(url: String, answer: ServerAnswer, attempt: inout UploadAttempt) async throws(SyncError) {
        let wait = connection.retry.delay(beforeRetry: attempt.busyRetries)
        guard attempt.busyWaited + wait <= Self.busyPatience else {
            throw .retryLater("the server still held upload \(url) of \(attempt.sha256) for another request after \(attempt.busyRetries + 1) tries over \(Int(attempt.busyWaited)) s (HTTP \(answer.status): \(answer.reason)); waiting for that request to end or time out")
        }
        do {
            try await connection.retry.clock.sleep(for: .seconds(wait))
        } catch {
            throw .unreachable("cancelled")
        }
        attempt.busyWaited += wait
        attempt.busyRetries += 1
    }

    /// Why this gateway's own stored copy fails its own hash, or nil when it is intact.
    static func ownCopyDamage(_ file: OpenFile, sha256: String, length: Int64) throws(SyncError) -> String? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: hashPieceSize, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var done: Int64 = 0
        while true {
            let got = pread(file.descriptor, buffer.baseAddress, buffer.count, off_t(done))
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .store("\(file.path): \(String(cString: strerror(errno)))") }
            if got == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            done += Int64(got)
        }
        let actual = hasher.finalize().hexString
        guard actual != sha256 || done != length else { return nil }
        return "refused: this gateway's stored copy \(file.path) no longer matches its hash (\(done) bytes, sha256 \(actual)); run `fieldgate audit verify`"
    }

    /// What became of a creation-with-upload.
    private enum FirstRequest {
        /// The server holds the whole blob.
        case finished
        /// The server found the whole blob did not match its hash and discarded the upload.
        case mismatch
        /// The server kept less than the whole blob, or the request failed: carry on with HEAD
        /// and PATCH (a new upload when the server's Location never arrived).
        case continueWithPatches(sentBytes: Int64)
    }

    /// Creates the upload with the whole blob as its body: one request for a small blob.
    private func createWithUpload(_ file: OpenFile, sha256: String, length: Int64, batchId: String) async throws(SyncError) -> FirstRequest {
        let count = Int(length)
        let checksum = try Self.checksum(of: file, offset: 0, count: count, algorithm: checksumAlgorithm).get()
        let answer: ServerAnswer
        do {
            answer = try await connection.sendOnce(
                .POST, Route.uploads,
                headers: [(Tus.Header.resumable, Tus.version), (Tus.Header.uploadLength, String(length)),
                          (Tus.Header.uploadMetadata, metadata(sha256: sha256, batchId: batchId)),
                          (Tus.Header.uploadChecksum, checksum), ("Content-Type", Tus.offsetContentType)],
                body: body(file, offset: 0, count: count), timeout: timeout(count))
        } catch {
            guard error.isTransient else { throw error }
            return .continueWithPatches(sentBytes: 0)
        }
        let location = answer.headers.first(name: "Location").flatMap { $0.isEmpty ? nil : connection.url($0) }
        switch answer.status {
        case 201:
            guard let location, let offset = answer.headers.first(name: Tus.Header.uploadOffset).flatMap(Int64.init), offset <= length else {
                throw .protocolViolation("POST /v1/uploads answered 201 without a Location or a valid Upload-Offset")
            }
            progress(offset)
            if offset == length { return .finished }
            try save(SyncUpload(sha256: sha256, url: location, offset: offset, length: length))
            return .continueWithPatches(sentBytes: offset)
        case Tus.checksumMismatchStatus:
            // Damaged on the way: the upload exists, empty; its chunk goes again as a PATCH.
            if let location { try save(SyncUpload(sha256: sha256, url: location, offset: 0, length: length)) }
            return .continueWithPatches(sentBytes: 0)
        case 422:
            return .mismatch
        case 401:
            throw .unauthorized(answer.reason)
        case 409, 423, 429, 500...:
            return .continueWithPatches(sentBytes: 0)
        default:
            throw .protocolViolation("creating the upload of \(sha256): \(answer.reason)")
        }
    }

    /// Sends one PATCH; its failure is returned, not thrown, so the caller can first collect
    /// the checksum computed meanwhile.
    private func sendChunk(_ file: OpenFile, url: String, offset: Int64, count: Int, checksum: String) async -> Result<ServerAnswer, SyncError> {
        do throws(SyncError) {
            return .success(try await connection.sendOnce(
                .PATCH, url,
                headers: [(Tus.Header.resumable, Tus.version), (Tus.Header.uploadOffset, String(offset)),
                          (Tus.Header.uploadChecksum, checksum), ("Content-Type", Tus.offsetContentType)],
                body: body(file, offset: offset, count: count), timeout: timeout(count)))
        } catch {
            return .failure(error)
        }
    }

    /// Long enough for a chunk at the slowest rate expected: 256 KiB/s, or half the rate limit.
    private func timeout(_ count: Int) -> TimeAmount {
        let slowest = max(1, min(256 * 1024, (limitRate ?? Int64.max) / 2))
        return .seconds(max(120, Int64(count) / slowest + 60))
    }

    private func metadata(sha256: String, batchId: String) -> String {
        Tus.encodeMetadata(["sha256": sha256, "batch": batchId, "filetype": "application/octet-stream"])
    }

    /// The upload's URL and the offset the server holds: asked with HEAD when an upload was
    /// started before, else a new upload is created.
    private func resume(sha256: String, length: Int64, batchId: String) async throws(SyncError) -> (String, Int64) {
        if let known = try stored(sha256) {
            let answer = try await connection.send(.HEAD, known.url, headers: [(Tus.Header.resumable, Tus.version)])
            if answer.status == 200 || answer.status == 204,
               let offset = answer.headers.first(name: Tus.Header.uploadOffset).flatMap(Int64.init), offset <= length {
                try save(SyncUpload(sha256: sha256, url: known.url, offset: offset, length: length))
                return (known.url, offset)
            }
            if answer.status == 401 { throw .unauthorized(answer.reason) }
            // Gone (expired, terminated, refused): start again.
            try remove(sha256)
        }
        let answer = try await connection.send(
            .POST, Route.uploads,
            headers: [(Tus.Header.resumable, Tus.version), (Tus.Header.uploadLength, String(length)),
                      (Tus.Header.uploadMetadata, metadata(sha256: sha256, batchId: batchId))])
        try answer.expect([201], doing: "creating the upload of \(sha256)")
        guard let location = answer.headers.first(name: "Location"), !location.isEmpty else {
            throw .protocolViolation("POST /v1/uploads answered 201 without a Location")
        }
        let url = connection.url(location)
        try save(SyncUpload(sha256: sha256, url: url, offset: 0, length: length))
        return (url, 0)
    }

    private func body(_ file: OpenFile, offset: Int64, count: Int) -> HTTPClientRequest.Body {
        .stream(FileChunkBytes(file: file, offset: offset, count: count, limiter: limiter, eventLoops: connection.client.eventLoopGroup),
                length: .known(Int64(count)))
    }

    /// The `Upload-Checksum` of `count` bytes at `offset`, read from the stored copy in pieces.
    static func checksum(of file: OpenFile, offset: Int64, count: Int, algorithm: Tus.ChecksumAlgorithm) -> Result<String, SyncError> {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(max(count, 1), hashPieceSize), alignment: 16)
        defer { buffer.deallocate() }
        // The checksum guards the transport only; the whole-blob SHA-256 the server checks is
        // the integrity proof. CRC-32C costs a fraction of a hash per byte.
        var hasher = ChunkChecksum(algorithm)
        var done = 0
        while done < count {
            let got = pread(file.descriptor, buffer.baseAddress, min(buffer.count, count - done), off_t(offset) + off_t(done))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return .failure(file.shortRead()) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            done += got
        }
        return .success(hasher.headerValue)
    }

    /// Bytes read at a time to hash a chunk.
    static let hashPieceSize = 1 << 20

    private func stored(_ sha256: String) throws(SyncError) -> SyncUpload? {
        do { return try store.upload(sha256: sha256) } catch { throw .store("\(error)") }
    }

    private func save(_ upload: SyncUpload) throws(SyncError) {
        do { try store.save(upload: upload) } catch { throw .store("\(error)") }
    }

    private func remove(_ sha256: String) throws(SyncError) {
        do { try store.removeUpload(sha256: sha256) } catch { throw .store("\(error)") }
    }
}

/// A checksum computed ahead for the chunk at `offset`.
private struct PreparedChunk {
    var offset: Int64
    var count: Int
    var checksum: String
}

/// The stored copy being uploaded, open while any request body still reads from it, and the
/// buffers its request bodies are read into.
final class OpenFile: Sendable {
    let descriptor: Int32
    let path: String
    let pieces = PieceBuffers()

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    func shortRead() -> SyncError {
        .store("\(path): the stored copy is shorter than its recorded size (run `fieldgate audit verify`)")
    }
}

/// The last few pieces of an upload's bodies, kept to be read into again. A piece the
/// connection has finished with is reused in place; one it still holds is left to it
/// (`ByteBuffer.clear()` then gives fresh memory), so a piece on the wire is never overwritten.
/// Fresh memory for every piece costs a page fault per 4 KiB when it is first written: half the
/// gateway's CPU time in a loopback sync, where a reused piece costs none.
final class PieceBuffers: Sendable {
    private let kept = Mutex<(pieces: [ByteBuffer], fresh: Int)>(([], 0))
    /// More than the connection holds at once: the piece being written and the one queued behind it.
    static let count = 4
    private let allocator = ByteBufferAllocator()

    /// Pieces read into fresh memory so far, not into a kept piece.
    var freshBuffers: Int { kept.withLock { $0.fresh } }

    /// An empty buffer of at least `capacity` bytes: the oldest kept piece when there are enough.
    func take(capacity: Int) -> ByteBuffer {
        guard var piece = kept.withLock({ $0.pieces.count >= Self.count ? $0.pieces.removeFirst() : nil }) else {
            kept.withLock { $0.fresh += 1 }
            return allocator.buffer(capacity: capacity)
        }
        let storage = piece.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        piece.clear(minimumCapacity: capacity)
        // Moved to fresh memory when the connection still held it.
        if piece.withVeryUnsafeBytes({ UInt(bitPattern: $0.baseAddress) }) != storage { kept.withLock { $0.fresh += 1 } }
        return piece
    }

    /// Keeps `piece` (which goes on to the connection) to be read into again later.
    func keep(_ piece: ByteBuffer) {
        kept.withLock { kept in
            kept.pieces.append(piece)
            if kept.pieces.count > Self.count { kept.pieces.removeFirst() }
        }
    }
}

/// A chunk's body, read from the stored copy in pieces as the HTTP client asks for them, each
/// piece only when the rate limit allows. Memory stays a few pieces per upload whatever the
/// chunk size.
///
/// The HTTP client asks for the next piece as soon as it has handed the last one to the
/// connection's event loop, and stops asking only once that loop has found the socket full.
/// While the loop is busy elsewhere (two cores, four uploads, the server) the pieces it has not
/// yet run pile up in its queue: up to a whole chunk per upload, 30 MB and more at a time. So
/// before reading a piece, the reader waits for every event loop of the client to run what was
/// queued before it; by then a full socket has paused the body, and the next piece waits too.
struct FileChunkBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let file: OpenFile
    let offset: Int64
    let count: Int
    let limiter: RateLimiter?
    /// The loops the HTTP client writes on.
    let eventLoops: any EventLoopGroup
    /// Bytes read and handed to the connection at a time: large enough for few system calls,
    /// small enough that the pieces an upload keeps (``PieceBuffers``) stay a MiB.
    static let pieceSize = 256 << 10

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: OpenFile
        var position: Int64
        let end: Int64
        let limiter: RateLimiter?
        let eventLoops: any EventLoopGroup

        mutating func next() async throws -> ByteBuffer? {
            guard position < end else { return nil }
            let size = Int(Swift.min(Int64(FileChunkBytes.pieceSize), end - position))
            for loop in eventLoops.makeIterator() {
                try await loop.submit {}.get()
            }
            if let limiter { try await limiter.take(size) }
            var piece = file.pieces.take(capacity: size)
            var done = 0
            while done < size {
                var got = 0
                piece.writeWithUnsafeMutableBytes(minimumWritableBytes: size - done) { pointer in
                    got = pread(file.descriptor, pointer.baseAddress, size - done, off_t(position) + off_t(done))
                    return Swift.max(0, got)
                }
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else { throw file.shortRead() }
                done += got
            }
            position += Int64(size)
            file.pieces.keep(piece)
            return piece
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(file: file, position: offset, end: offset + Int64(count), limiter: limiter, eventLoops: eventLoops)
    }
}
