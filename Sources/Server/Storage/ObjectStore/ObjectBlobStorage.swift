import Foundation
import NIOCore
import ObjectStorage

/// The keys the server writes in its bucket, all under the location's prefix.
struct ObjectKeys: Sendable {
    let prefix: String

    /// A held blob: `sha256/<first 2 hex>/<64 hex>`, as in the data folder.
    func blob(_ sha256: String) -> String { "\(prefix)sha256/\(sha256.prefix(2))/\(sha256)" }
    /// Everything an upload in progress stages.
    var uploadsPrefix: String { "\(prefix)uploads/" }
    func upload(_ uploadId: String) -> String { "\(uploadsPrefix)\(uploadId)/" }
    /// The multipart upload's object, whole once joined, before it is verified and copied to its blob key.
    func staged(_ uploadId: String) -> String { upload(uploadId) + "object" }
    /// The upload's multipart id, part size and the ETags of its parts so far.
    func state(_ uploadId: String) -> String { upload(uploadId) + "state" }
    /// The bytes acknowledged of part `number`, while it is still short of a whole part.
    func tail(_ uploadId: String, part number: Int) -> String { upload(uploadId) + "tail-\(number)" }
    /// The bytes acknowledged so far of an upload small enough to be one object, while it is unfinished.
    func pending(_ uploadId: String) -> String { upload(uploadId) + "pending" }

    /// The upload id a staged key belongs to.
    func uploadId(ofKey key: String) -> String? {
        guard key.hasPrefix(uploadsPrefix) else { return nil }
        return key.dropFirst(uploadsPrefix.count).split(separator: "/", maxSplits: 1).first.map(String.init)
    }
}

/// Blobs in a bucket under `<prefix>sha256/…`. A blob's key is written only with bytes already
/// verified against its hash (a copy of a checked object, or a verified file), so a key present
/// always names complete, right bytes.
struct ObjectBlobStorage: BlobStorage {
    let client: S3Client
    let keys: ObjectKeys
    let partSize: Int

    init(location: ObjectStoreLocation) {
        client = S3Client(bucket: location.bucket, credentials: location.credentials)
        keys = ObjectKeys(prefix: location.prefix)
        partSize = location.partSize
    }

    func contains(_ sha256: String) async throws -> Bool { try await client.size(of: keys.blob(sha256)) != nil }

    func store(verifiedFile: URL, sha256: String) async throws {
        if try await !contains(sha256) {
            try await client.putFile(verifiedFile.path, to: keys.blob(sha256), partSize: partSize)
        }
        unlink(verifiedFile.path)
    }

    func sha256(of sha256: String) async throws -> (sha256: String, size: Int64)? { try await client.sha256(of: keys.blob(sha256)) }

    func read(_ sha256: String, offset: Int64, length: Int) async throws -> Data? {
        guard length > 0 else { return try await contains(sha256) ? Data() : nil }
        do {
            guard let bytes = try await client.get(keys.blob(sha256), range: offset...(offset + Int64(length) - 1)),
                  bytes.readableBytes == length else { return nil }
            return Data(bytes.readableBytesView)
        } catch ObjectStorageError.refused(_, 416, _, _) {
            return nil  // the range starts past the end
        }
    }

    func remove(_ sha256: String) async throws { try await client.delete(keys.blob(sha256)) }

    func localFile(of sha256: String, scratch: URL) async throws -> URL? {
        let file = scratch.appendingPathComponent(sha256)
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else { throw FileError(path: file.path) }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        let found = try await client.download(keys.blob(sha256)) { buffer in
            try handle.write(contentsOf: buffer.readableBytesView)
        }
        if !found { try? FileManager.default.removeItem(at: file) }
        return found ? file : nil
    }
}
