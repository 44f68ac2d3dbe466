import Foundation
import NIOCore

/// Where the bytes of tus uploads in progress wait until they are whole: part files beside the
/// blobs (``FolderUploadStaging``) or S3 multipart uploads (``ObjectUploadStaging``). Offsets
/// live in the repository; staging holds the bytes up to them, durably.
protocol UploadStaging: Sendable {
    /// Makes room for a new upload and has `record` store its row, in the order that leaves
    /// nothing unaccounted for after a crash; when the room cannot be made the row is undone by
    /// `unrecord`.
    func begin(_ upload: UploadRecord, record: () async throws -> Void, unrecord: () async -> Void) async throws
    /// A writer for one chunk starting at the upload's acknowledged offset. Bytes staged past it
    /// belong to no acknowledged chunk and are overwritten.
    func openChunk(_ upload: UploadRecord) async throws -> any ChunkWriter
    /// Moves an upload whose every byte is acknowledged into the blob store under its SHA-256,
    /// if the bytes have it. `digest` is the SHA-256 taken as they arrived, when this process saw
    /// them all; without it the bytes are read again. Idempotent: run again after a crash at any
    /// step, it ends in the same state.
    func seal(_ upload: UploadRecord, digest: String?) async throws -> SealOutcome
    /// Drops what the upload staged (terminated, expired, or failed verification).
    func remove(_ uploadId: String) async
    /// Uploads with bytes staged and last touched before `date`: the sweep removes those without a row.
    func staged(writtenBefore date: Date) async throws -> [String]
}

enum SealOutcome: Sendable, Equatable {
    /// The bytes are in the blob store under the upload's hash (or were already).
    case stored
    /// The bytes hash to something else (or have another size); nothing was stored.
    case mismatch(sha256: String, size: Int64)
    /// Nothing is staged: an earlier run moved the bytes already, or they are lost.
    case absent
}

/// Takes one chunk's bytes. Not shared: the PATCH that opened it (holding the upload's lock) owns it.
protocol ChunkWriter: AnyObject {
    /// Bytes this chunk has taken.
    var written: Int64 { get }
    func write(_ buffer: ByteBuffer) async throws
    /// Drops everything this chunk wrote.
    func discard() async
    /// Makes the chunk's bytes durable; the new offset may then be acknowledged.
    func commit() async throws
    /// The new offset is in the repository: what it superseded can go.
    func acknowledged() async
}

/// Part files: `<uploads>/<upload id>`, synced before an offset is acknowledged, renamed into
/// the blob folder once verified.
struct FolderUploadStaging: UploadStaging {
    let parts: UploadParts
    let blobs: FolderBlobStorage

    /// The row first: a part file never exists without the row that accounts for it.
    func begin(_ upload: UploadRecord, record: () async throws -> Void, unrecord: () async -> Void) async throws {
        try await record()
        do {
            try parts.create(upload.id)
        } catch {
            await unrecord()
            throw error
        }
    }

    func openChunk(_ upload: UploadRecord) throws -> any ChunkWriter {
        try parts.openForChunk(upload.id, at: upload.offset)
    }

    func seal(_ upload: UploadRecord, digest: String?) async throws -> SealOutcome {
        guard parts.exists(upload.id) else { return .absent }
        let (sha256, size): (String, Int64)
        if let digest {
            (sha256, size) = (digest, try parts.size(of: upload.id))
        } else {
            (sha256, size) = try await BlockingIO.run { [parts, id = upload.id] in try parts.sha256(of: id) }
        }
        guard sha256 == upload.sha256, size == upload.length else { return .mismatch(sha256: sha256, size: size) }
        try await blobs.store(verifiedFile: parts.path(of: upload.id), sha256: sha256)
        return .stored
    }

    func remove(_ uploadId: String) { parts.remove(uploadId) }

    func staged(writtenBefore date: Date) -> [String] { parts.parts(writtenBefore: date) }
}
