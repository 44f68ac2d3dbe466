import Common
import Crypto
import Foundation
import NIOCore
import ObjectStorage

/// tus uploads as S3 multipart uploads. Each upload stages, under `<prefix>uploads/<id>/`:
/// - `state`: the multipart upload's id, its part size and the ETag of every part stored so far;
/// - the parts themselves (whole parts of the part size; the last may be shorter);
/// - `tail-<n>`: the acknowledged bytes of part n while it is short of a whole part (a chunk
///   that ends mid-part), read back and completed by the next chunk.
///
/// A chunk's bytes are acknowledged only once stored: its whole parts uploaded, what is left
/// over written as the tail, and the state naming the parts written — before the offset goes
/// into the repository. A part or tail stored past the repository's offset (a crash between) is
/// simply sent again, replacing it. Every instance reads this state from the bucket, so an upload
/// begun on one instance resumes on another.
///
/// Verification: S3 cannot read the parts of an unfinished multipart upload, so the SHA-256 of
/// the whole blob is taken in-process as bytes arrive (``UploadDigests``). When the instance
/// completing an upload saw every byte, that digest decides; when the upload moved between
/// instances (or one restarted), the joined object is read back once and hashed. Either way the
/// parts are joined at the upload's own key, checked, and only then copied server-side to the
/// blob's content-addressed key, so bytes that do not match never reach a blob key and never
/// replace a held blob.
///
/// An upload of at most ``singleObjectLimit`` bytes (most photos, printouts, fingerprints and
/// short clips) needs none of that: it is one object. Nothing is staged when it begins; a chunk
/// that does not finish it stores the acknowledged bytes as `pending` (read back by the next);
/// the chunk that finishes it hashes the whole in memory and, when it matches, PUTs it straight
/// to the blob's key (unless held). A small upload arriving in one request thus costs four
/// requests to the store instead of fourteen. An upload begun by an older build (one whose
/// `state` is in the bucket) goes on in the multipart layout it began in.
struct ObjectUploadStaging: UploadStaging {
    let client: S3Client
    let keys: ObjectKeys
    let location: ObjectStoreLocation
    let blobs: ObjectBlobStorage

    init(location: ObjectStoreLocation, blobs: ObjectBlobStorage) {
        self.location = location
        self.blobs = blobs
        client = blobs.client
        keys = blobs.keys
    }

    struct State: Codable, Equatable {
        /// nil for an empty upload, which needs no parts.
        var multipartUploadId: String?
        var partSize: Int
        var etags: [String]
    }

    /// Uploads up to this size are one object: S3's smallest part, so that every instance
    /// decides alike whatever its `--s3-part-size`.
    static let singleObjectLimit = Int64(ObjectStoreLocation.minimumPartSize)

    static func isSingleObject(_ upload: UploadRecord) -> Bool { upload.length <= singleObjectLimit }

    /// The multipart upload and its state first, then the row: the sweep removes staging
    /// without a row (a crash between), never a row without its staging. A single-object upload
    /// stages nothing yet: the row alone.
    func begin(_ upload: UploadRecord, record: () async throws -> Void, unrecord: () async -> Void) async throws {
        if Self.isSingleObject(upload) { return try await record() }
        let multipartId = upload.length == 0 ? nil : try await client.createMultipartUpload(keys.staged(upload.id))
        do {
            try await write(State(multipartUploadId: multipartId, partSize: location.partSize(forLength: upload.length), etags: []), of: upload.id)
        } catch {
            await remove(upload.id)
            throw error
        }
        do {
            try await record()
        } catch {
            await remove(upload.id)
            throw error
        }
    }

    func openChunk(_ upload: UploadRecord) async throws -> any ChunkWriter {
        let found = try await state(of: upload.id)
        if found == nil && Self.isSingleObject(upload) { return try await openSingleObjectChunk(upload) }
        guard let state = found else { throw StagingError.lost(upload.id, "its staging state is missing from the bucket") }
        let partSize = Int64(state.partSize)
        let wholeParts = Int(upload.offset / partSize)
        guard state.etags.count >= wholeParts || upload.offset == upload.length else {
            throw StagingError.lost(upload.id, "the bucket names \(state.etags.count) parts, offset \(upload.offset) needs \(wholeParts)")
        }
        var current = state
        current.etags = Array(state.etags.prefix(wholeParts))
        var buffer = ByteBuffer()
        let tailLength = Int(upload.offset % partSize)
        var tailPart: Int?
        if upload.offset < upload.length && tailLength > 0 {
            let number = wholeParts + 1
            guard let tail = try await client.get(keys.tail(upload.id, part: number), range: 0...Int64(tailLength - 1)),
                  tail.readableBytes == tailLength else {
                throw StagingError.lost(upload.id, "the acknowledged bytes of part \(number) are missing from the bucket")
            }
            buffer = ObjectChunkWriter.partBuffer(state.partSize)
            buffer.writeImmutableBuffer(tail)
            tailPart = number
        }
        return ObjectChunkWriter(staging: self, upload: upload, state: current, buffer: buffer, tailPart: tailPart)
    }

    func seal(_ upload: UploadRecord, digest: String?) async throws -> SealOutcome {
        let stagedKey = keys.staged(upload.id)
        // The joined object's size, once known, so that it is asked for once.
        var joinedSize: Int64?
        let found = try await state(of: upload.id)
        if found == nil && Self.isSingleObject(upload) { return try await sealSingleObject(upload, digest: digest) }
        if let state = found {
            if let multipartId = state.multipartUploadId {
                let expectedParts = Int((upload.length + Int64(state.partSize) - 1) / Int64(state.partSize))
                guard state.etags.count >= expectedParts else {
                    throw StagingError.lost(upload.id, "\(state.etags.count) of its \(expectedParts) parts are named in the bucket")
                }
                let parts = state.etags.prefix(expectedParts).enumerated().map { S3Part(number: $0.offset + 1, etag: $0.element, size: 0) }
                do {
                    try await client.completeMultipartUpload(stagedKey, uploadId: multipartId, parts: Array(parts))
                } catch let error as ObjectStorageError where error.code == "NoSuchUpload" {
                    // Joined by an earlier run that a crash interrupted; the object tells.
                    joinedSize = try await client.size(of: stagedKey)
                    guard joinedSize != nil else { throw error }
                }
            } else {
                joinedSize = try await client.size(of: stagedKey)
                if joinedSize == nil {
                    try await client.put(stagedKey, ByteBuffer())
                    joinedSize = 0
                }
            }
        } else {
            joinedSize = try await client.size(of: stagedKey)
            if joinedSize == nil { return .absent }
        }
        if joinedSize == nil { joinedSize = try await client.size(of: stagedKey) }
        let size: Int64
        let sha256: String
        if let digest, let known = joinedSize, known == upload.length {
            (sha256, size) = (digest, known)
        } else {
            guard let read = try await client.sha256(of: stagedKey) else { return .absent }
            (sha256, size) = (read.sha256, read.size)
        }
        guard sha256 == upload.sha256, size == upload.length else { return .mismatch(sha256: sha256, size: size) }
        if try await !blobs.contains(sha256) {
            try await client.copy(stagedKey, size: size, to: keys.blob(sha256), partSize: Int64(location.partSize(forLength: size)))
        }
        await remove(upload.id)
        return .stored
    }

    private func openSingleObjectChunk(_ upload: UploadRecord) async throws -> any ChunkWriter {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(Int(upload.length))
        // At the final offset (a crash before completion) there is nothing more to take.
        if upload.offset > 0 && upload.offset < upload.length {
            guard let pending = try await client.get(keys.pending(upload.id), range: 0...(upload.offset - 1)),
                  pending.readableBytes == upload.offset else {
                throw StagingError.lost(upload.id, "its \(upload.offset) acknowledged bytes are missing from the bucket")
            }
            buffer.writeImmutableBuffer(pending)
        }
        return SingleObjectChunkWriter(staging: self, upload: upload, buffer: buffer)
    }

    /// With this process's digest the chunk that finished the upload decided already: a match
    /// is at its blob key, a mismatch was kept as `pending` (and goes with the upload). Without
    /// it, a whole `pending` object is read back and hashed; a partial one is what preceded a
    /// finishing chunk that stored the blob (a crash came before it was deleted), and `.absent`
    /// has the completion check the blob it left.
    private func sealSingleObject(_ upload: UploadRecord, digest: String?) async throws -> SealOutcome {
        if upload.length == 0 {
            let empty = SHA256.hash(data: Data()).hexString
            guard upload.sha256 == empty else { return .mismatch(sha256: empty, size: 0) }
            if try await !blobs.contains(empty) { try await client.put(keys.blob(empty), ByteBuffer()) }
            return .stored
        }
        if let digest {
            return digest == upload.sha256 ? .stored : .mismatch(sha256: digest, size: upload.length)
        }
        guard let pending = try await client.get(keys.pending(upload.id)) else { return .absent }
        guard pending.readableBytes == upload.length else {
            try? await client.delete(keys.pending(upload.id))
            return .absent
        }
        let sha256 = pending.withUnsafeReadableBytes { SHA256.hash(data: $0) }.hexString
        guard sha256 == upload.sha256 else { return .mismatch(sha256: sha256, size: upload.length) }
        if try await !blobs.contains(sha256) { try await client.put(keys.blob(sha256), pending) }
        try? await client.delete(keys.pending(upload.id))
        return .stored
    }

    /// Aborts the upload's multipart uploads and deletes its staged objects, the state last.
    func remove(_ uploadId: String) async {
        let prefix = keys.upload(uploadId)
        for multipart in (try? await client.multipartUploads(prefix: prefix)) ?? [] {
            try? await client.abortMultipartUpload(multipart.key, uploadId: multipart.uploadId)
        }
        let objects = ((try? await client.objects(prefix: prefix)) ?? []).map(\.key)
        for key in objects where key != keys.state(uploadId) { try? await client.delete(key) }
        try? await client.delete(keys.state(uploadId))
    }

    func staged(writtenBefore date: Date) async throws -> [String] {
        var touched: [String: Date] = [:]
        func saw(_ key: String, _ at: Date?) {
            guard let id = keys.uploadId(ofKey: key) else { return }
            let at = at ?? .distantPast
            touched[id] = max(touched[id] ?? .distantPast, at)
        }
        for object in try await client.objects(prefix: keys.uploadsPrefix) { saw(object.key, object.lastModified) }
        for multipart in try await client.multipartUploads(prefix: keys.uploadsPrefix) { saw(multipart.key, multipart.initiated) }
        return touched.filter { $0.value < date }.map(\.key).sorted()
    }

    func state(of uploadId: String) async throws -> State? {
        guard let bytes = try await client.get(keys.state(uploadId)) else { return nil }
        do {
            return try JSONDecoder().decode(State.self, from: Data(bytes.readableBytesView))
        } catch {
            throw StagingError.lost(uploadId, "its staging state in the bucket is not readable (\(error))")
        }
    }

    func write(_ state: State, of uploadId: String) async throws {
        try await client.put(keys.state(uploadId), ByteBuffer(data: try JSONEncoder().encode(state)))
    }
}

/// One chunk into a multipart upload: whole parts are sent as they fill, one part held in
/// memory at a time; ``commit()`` stores the rest as the tail (or as the last part).
final class ObjectChunkWriter: ChunkWriter {
    let staging: ObjectUploadStaging
    let upload: UploadRecord
    let original: ObjectUploadStaging.State
    var state: ObjectUploadStaging.State
    var buffer: ByteBuffer
    let originalBuffer: ByteBuffer
    /// The part whose tail this chunk began from, if it began mid-part.
    let tailPart: Int?
    private(set) var written: Int64 = 0

    init(staging: ObjectUploadStaging, upload: UploadRecord, state: ObjectUploadStaging.State, buffer: ByteBuffer, tailPart: Int?) {
        self.staging = staging
        self.upload = upload
        self.state = state
        original = state
        self.buffer = buffer
        originalBuffer = buffer
        self.tailPart = tailPart
    }

    func write(_ bytes: ByteBuffer) async throws {
        if buffer.capacity == 0 { buffer = Self.partBuffer(state.partSize) }
        buffer.writeImmutableBuffer(bytes)
        written += Int64(bytes.readableBytes)
        while buffer.readableBytes >= state.partSize, let part = buffer.readSlice(length: state.partSize) {
            // The bytes past the part start the next one in a buffer of their own, so the part's
            // memory goes as soon as the store's client lets go of it.
            var next = Self.partBuffer(state.partSize)
            next.writeImmutableBuffer(buffer)
            buffer = next
            try await send(part)
        }
    }

    /// An empty buffer with room for a part and the network read that runs past its end.
    static func partBuffer(_ partSize: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(partSize + (256 << 10))
        return buffer
    }

    private func send(_ part: ByteBuffer) async throws {
        guard let multipartId = state.multipartUploadId else {
            throw StagingError.lost(upload.id, "an empty upload has no parts")
        }
        let etag = try await staging.client.uploadPart(staging.keys.staged(upload.id), uploadId: multipartId, number: state.etags.count + 1, part)
        state.etags.append(etag)
    }

    func discard() {
        state = original
        buffer = originalBuffer
        written = 0
    }

    func commit() async throws {
        if buffer.readableBytes > 0 {
            if upload.offset + written == upload.length {
                try await send(buffer)
                buffer.clear()
            } else {
                try await staging.client.put(staging.keys.tail(upload.id, part: state.etags.count + 1), buffer)
            }
        }
        if state.etags != original.etags { try await staging.write(state, of: upload.id) }
    }

    func acknowledged() async {
        // The tail this chunk began from became a whole part: it is no longer needed.
        if let tailPart, state.etags.count >= tailPart {
            try? await staging.client.delete(staging.keys.tail(upload.id, part: tailPart))
        }
    }
}

/// One chunk of an upload that is a single object: its bytes (those acknowledged before it
/// included) are held in memory, at most ``ObjectUploadStaging/singleObjectLimit``.
final class SingleObjectChunkWriter: ChunkWriter {
    let staging: ObjectUploadStaging
    let upload: UploadRecord
    var buffer: ByteBuffer
    private let acknowledgedBytes: Int
    private(set) var written: Int64 = 0
    /// Set by the chunk that finished the upload with matching bytes: they are at the blob's key.
    private var storedAsBlob = false

    init(staging: ObjectUploadStaging, upload: UploadRecord, buffer: ByteBuffer) {
        self.staging = staging
        self.upload = upload
        self.buffer = buffer
        acknowledgedBytes = buffer.readableBytes
    }

    func write(_ bytes: ByteBuffer) async throws {
        buffer.writeImmutableBuffer(bytes)
        written += Int64(bytes.readableBytes)
    }

    func discard() {
        buffer.moveWriterIndex(to: buffer.readerIndex + acknowledgedBytes)
        written = 0
    }

    /// The finishing chunk stores matching bytes at the blob key, verified in memory; any other
    /// chunk (and bytes that do not match, which completion then refuses) is kept as `pending`.
    func commit() async throws {
        if upload.offset + written == upload.length {
            let sha256 = buffer.withUnsafeReadableBytes { SHA256.hash(data: $0) }.hexString
            if sha256 == upload.sha256 {
                if try await !staging.blobs.contains(sha256) { try await staging.client.put(staging.keys.blob(sha256), buffer) }
                storedAsBlob = true
                return
            }
        }
        if written > 0 { try await staging.client.put(staging.keys.pending(upload.id), buffer) }
    }

    func acknowledged() async {
        // The whole is at its blob key now; the bytes before this chunk are no longer needed.
        if storedAsBlob && acknowledgedBytes > 0 { try? await staging.client.delete(staging.keys.pending(upload.id)) }
    }
}

enum StagingError: Error, CustomStringConvertible {
    case lost(String, String)

    var description: String {
        switch self {
        case .lost(let uploadId, let reason): "upload \(uploadId) cannot go on: \(reason)"
        }
    }
}
