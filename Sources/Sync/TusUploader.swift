import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFoundationCompat
import Store
import SyncProtocol

/// How one blob's upload ended.
enum UploadOutcome: Sendable, Equatable {
    /// The server has the whole blob, verified; `sentBytes` went over the wire in this run.
    case completed(sentBytes: Int64)
    /// The server refused the bytes as not matching their hash.
    case refused(String)
}

/// Uploads one blob with tus 1.0: creation, then PATCH chunks each with an `Upload-Checksum`.
/// The upload's URL and every acknowledged offset are kept in the store, so a killed process,
/// a dropped connection or a restarted server resumes (HEAD) where the server says it stands.
struct TusUploader: Sendable {
    let connection: ServerConnection
    let store: EvidenceStore
    let chunkSize: Int
    let limiter: RateLimiter?
    /// Called with the bytes the server has acknowledged of this blob so far.
    let progress: @Sendable (Int64) -> Void

    /// A chunk whose checksum keeps failing is given up after this many tries.
    static let checksumAttempts = 3

    func upload(sha256: String, length: Int64, batchId: String) async throws(SyncError) -> UploadOutcome {
        let path = store.blobs.path(of: sha256).path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return .refused("the stored copy \(path) cannot be read: \(String(cString: strerror(errno))) (run `fieldgate audit verify`)")
        }
        defer { close(descriptor) }

        var sent: Int64 = 0
        var (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
        var checksumFailures = 0
        var transientFailures = 0
        progress(offset)
        // One buffer for every chunk: the HTTP client has let go of it once the answer is in, so
        // it is refilled in place rather than a new chunk-sized block being allocated each time
        // (freed large blocks linger in the allocator's per-thread arenas).
        var chunk = ByteBufferAllocator().buffer(capacity: Int(min(Int64(chunkSize), length)))
        while offset < length || length == 0 {
            let count = Int(min(Int64(chunkSize), length - offset))
            try readChunk(descriptor, path: path, offset: offset, count: count, into: &chunk)
            let checksum = "sha256 " + chunk.withUnsafeReadableBytes { Data(SHA256.hash(data: $0)).base64EncodedString() }
            let answer: ServerAnswer
            do {
                answer = try await connection.sendOnce(
                    .PATCH, url,
                    headers: [(Tus.Header.resumable, Tus.version), (Tus.Header.uploadOffset, String(offset)),
                              (Tus.Header.uploadChecksum, checksum), ("Content-Type", Tus.offsetContentType)],
                    body: body(chunk), timeout: .seconds(Int64(max(120, count / (256 * 1024)))))
            } catch {
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
                sent += Int64(count)
                offset = next
                transientFailures = 0
                checksumFailures = 0
                progress(offset)
                if offset == length {
                    return .completed(sentBytes: sent)
                }
                try save(SyncUpload(sha256: sha256, url: url, offset: offset, length: length))
            case Tus.checksumMismatchStatus:
                // The chunk was damaged on the way: the server kept none of it; send it again.
                checksumFailures += 1
                guard checksumFailures < Self.checksumAttempts else {
                    throw .protocolViolation("PATCH \(url) at offset \(offset): checksum mismatch \(checksumFailures) times in a row (\(answer.reason))")
                }
            case 409:
                (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
            case 404, 410:
                try remove(sha256)
                (url, offset) = try await resume(sha256: sha256, length: length, batchId: batchId)
            case 422:
                try remove(sha256)
                return .refused("the server refused the upload: \(answer.reason)")
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
        return .completed(sentBytes: sent)
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
        let metadata = Tus.encodeMetadata(["sha256": sha256, "batch": batchId, "filetype": "application/octet-stream"])
        let answer = try await connection.send(
            .POST, "/v1/uploads",
            headers: [(Tus.Header.resumable, Tus.version), (Tus.Header.uploadLength, String(length)), (Tus.Header.uploadMetadata, metadata)])
        try answer.expect([201], doing: "creating the upload of \(sha256)")
        guard let location = answer.headers.first(name: "Location"), !location.isEmpty else {
            throw .protocolViolation("POST /v1/uploads answered 201 without a Location")
        }
        let url = connection.url(location)
        try save(SyncUpload(sha256: sha256, url: url, offset: 0, length: length))
        return (url, 0)
    }

    private func body(_ chunk: ByteBuffer) -> HTTPClientRequest.Body {
        guard let limiter else { return .bytes(chunk) }
        return .stream(ThrottledBytes(buffer: chunk, limiter: limiter), length: .known(Int64(chunk.readableBytes)))
    }

    private func readChunk(_ descriptor: Int32, path: String, offset: Int64, count: Int, into buffer: inout ByteBuffer) throws(SyncError) {
        buffer.clear()
        var done = 0
        while done < count {
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { pointer in
                max(0, pread(descriptor, pointer.baseAddress, count - done, off_t(offset) + off_t(done)))
            }
            guard got > 0 else {
                throw .store("\(path): the stored copy is shorter than its recorded size (run `fieldgate audit verify`)")
            }
            done += got
        }
    }

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

/// A chunk handed to the HTTP client in 64 KiB pieces, each only when the rate limit allows.
struct ThrottledBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffer: ByteBuffer
    let limiter: RateLimiter
    static let pieceSize = 64 * 1024

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ByteBuffer
        let limiter: RateLimiter

        mutating func next() async throws -> ByteBuffer? {
            guard remaining.readableBytes > 0 else { return nil }
            let piece = remaining.readSlice(length: Swift.min(ThrottledBytes.pieceSize, remaining.readableBytes))!
            try await limiter.take(piece.readableBytes)
            return piece
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffer, limiter: limiter) }
}
