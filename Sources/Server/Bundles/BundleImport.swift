import Common
import Crypto
import Evidence
import EvidenceBundle
import Foundation
import SyncProtocol

/// What `import-bundle` did.
public struct BundleImportSummary: Codable, Sendable, Equatable {
    public var bundleId: String
    public var gatewayId: String
    public var gatewayName: String
    /// The batch that receipts the items taken in; nil when nothing was new.
    public var batchId: String?
    /// Items taken in and receipted, and of those, blobs the server did not hold before.
    public var imported: Int
    public var newBlobs: Int
    public var newBytes: Int64
    /// Items this gateway had delivered (receipted) already, and items without content in the bundle.
    public var alreadyReceipted: Int
    public var withoutContent: Int
}

/// Evidence carried by hand: a bundle a gateway exported (`fieldgate export`, e.g. while the
/// network was down) taken into the server. It is verified whole first, as `verify.sh` does;
/// its signer must be a gateway of this server. Items that gateway delivered already are not
/// taken again; the rest become one batch, committed and receipted like a synced one, whose
/// key (`hand-carried-<bundle id>`) and import record say how they came.
public enum BundleImport {
    public static func importBundle(at source: URL, dataDirectory: URL, database: DatabaseLocation = .dataFolder,
                                    blobs blobLocation: BlobLocation = .dataFolder, serverKey: URL? = nil,
                                    at date: Date = Date()) async throws -> BundleImportSummary {
        let folder = try DataFolder(dataDirectory)
        let repository = try await folder.openRepository(database)
        let signingKey = try await folder.serverKey(for: repository, override: serverKey)
        let blobs = try folder.blobStorage(for: blobLocation).0
        let staging = folder.uploads.appendingPathComponent("import-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: folder.uploads, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }

        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isFolder) else { throw BagCheckError.missing(source.path) }
        let root = isFolder.boolValue ? source : try TarExtractor.extract(source, into: staging)
        let bag = try BagVerifier.verify(root)
        guard bag.exportedBy == "gateway" else { throw BundleImportError.notAGatewayBundle }
        let signer = bag.signerKey.rawRepresentation.base64EncodedString()
        guard let gateway = try await repository.gateways().first(where: { $0.publicKey == signer }) else {
            throw BundleImportError.unknownSigner(PublicKeyPEM.fingerprint(bag.signerKey))
        }
        guard gateway.state == .active else { throw BundleImportError.revokedGateway(gateway.name) }
        guard bag.gatewayId == gateway.id else { throw BundleImportError.otherGateway(named: bag.gatewayId ?? "none", signedBy: gateway.name) }

        var summary = BundleImportSummary(bundleId: bag.bundleId, gatewayId: gateway.id, gatewayName: gateway.name, batchId: nil,
                                          imported: 0, newBlobs: 0, newBytes: 0, alreadyReceipted: 0, withoutContent: 0)
        var taken: [VerifiedBag.Item] = []
        for item in bag.items {
            // Delivered already: a receipted item of this gateway with these bytes holds the
            // item's first custody event (another item may share the bytes, not the event).
            let entries = try await repository.evidenceEntries(sha256: item.sha256, gatewayId: gateway.id)
            let delivered = if let first = item.custody.first?.hash {
                entries.contains { entry in entry.custody.contains { $0.hash == first } }
            } else {
                !entries.isEmpty
            }
            if delivered {
                summary.alreadyReceipted += 1
            } else if item.file == nil {
                summary.withoutContent += 1
            } else {
                taken.append(item)
            }
        }
        guard !taken.isEmpty else {
            try await record(summary, bag: bag, source: source, repository: repository, at: date)
            return summary
        }

        // Each blob once, renamed in from a synced, verified file beside the blobs: a .tar's
        // unpacked file as it is; from a folder, a copy hashed on the way.
        let held = try await repository.heldBlobs(among: taken.map(\.sha256))
        var stored = Set<String>()
        for item in taken where !held.contains(item.sha256) && !stored.contains(item.sha256) {
            guard let file = item.file else { continue }
            let copy: URL
            let size: Int64
            if isFolder.boolValue {
                copy = folder.uploads.appendingPathComponent("import-\(UUID().uuidString.lowercased()).part")
                size = try VerifiedCopy.copy(file, to: copy, expecting: item.sha256)
            } else {
                copy = file
                size = item.size  // the verifier checked the file has it
            }
            do { try await blobs.store(verifiedFile: copy, sha256: item.sha256) } catch {
                unlink(copy.path)
                throw error
            }
            try await repository.recordBlob(sha256: item.sha256, size: size, at: date)
            stored.insert(item.sha256)
            summary.newBlobs += 1
            summary.newBytes += size
        }
        for sha256 in Set(taken.map(\.sha256)) { try await repository.recordPossession(gatewayId: gateway.id, sha256: sha256, at: date) }

        // One batch for the bundle; importing it again finds the same batch (one key per bundle).
        let envelope = SignedEnvelope(payload: bag.tagManifest.base64EncodedString(), signature: bag.tagSignature.base64EncodedString())
        let batch = BatchRecord(id: UUID().uuidString.lowercased(), gatewayId: gateway.id, batchKey: "hand-carried-\(bag.bundleId)",
                                state: .open, envelope: String(decoding: try WireCoding.encoder.encode(envelope), as: UTF8.self),
                                createdAt: bag.exportedAt, receivedAt: date, committedAt: nil, receipt: nil)
        let records = taken.enumerated().map { position, item in
            BatchItemRecord(position: position, sha256: item.sha256, size: item.size, kind: item.kind, metadata: item.metadata,
                            custody: item.custody, withdrawn: false)
        }
        let (created, _) = try await repository.createBatch(batch, items: records)
        let items = try await repository.items(batchId: created.id)
        // The receipt names the bundle's tag manifest (which the gateway signed, and which covers
        // each item's record and custody through manifest-sha256.txt and items.json).
        let receipt = Receipt(version: Receipt.currentVersion, batchId: created.id, batchKey: created.batchKey, gatewayId: gateway.id,
                              manifestSha256: SHA256.hash(data: bag.tagManifest).hexString,
                              items: items.map { Receipt.Item(sha256: $0.sha256, size: $0.size, lastCustodyHash: nil) },
                              serverTime: date.formatted(WireCoding.timestampFormat))
        let sealed = try SignedEnvelope.seal(receipt, with: signingKey)
        _ = try await repository.commitBatch(id: created.id, withdrawn: [], receipt: String(decoding: try WireCoding.encoder.encode(sealed), as: UTF8.self),
                                             at: date)
        summary.batchId = created.id
        summary.imported = items.count
        try await record(summary, bag: bag, source: source, repository: repository, at: date)
        return summary
    }

    /// Every bundle this server took in, oldest first.
    public static func imports(dataDirectory: URL, database: DatabaseLocation = .dataFolder) async throws -> [BundleImportRecord] {
        try await DataFolder(dataDirectory).openRepository(database).bundleImports()
    }

    private static func record(_ summary: BundleImportSummary, bag: VerifiedBag, source: URL, repository: any EvidenceRepository,
                               at date: Date) async throws {
        try await repository.recordImport(BundleImportRecord(
            bundleId: summary.bundleId, gatewayId: summary.gatewayId, batchId: summary.batchId, source: source.path,
            tagManifestSha256: SHA256.hash(data: bag.tagManifest).hexString, imported: summary.imported, newBlobs: summary.newBlobs,
            alreadyReceipted: summary.alreadyReceipted, importedAt: date))
    }
}

/// Why a verified bundle was not taken in; nothing of it was stored.
public enum BundleImportError: Error, Equatable, CustomStringConvertible {
    case notAGatewayBundle
    case unknownSigner(String)
    case revokedGateway(String)
    case otherGateway(named: String, signedBy: String)

    public var description: String {
        switch self {
        case .notAGatewayBundle: "this bundle was exported by a server: import-bundle takes bundles gateways exported (`fieldgate export`)"
        case .unknownSigner(let fingerprint):
            "the bundle is signed by a key no gateway of this server has (SHA-256 fingerprint \(fingerprint)): it was exported by another server's gateway, or its key was swapped"
        case .revokedGateway(let name): "the bundle is signed by gateway \(name), which is revoked: its bundles are no longer taken"
        case .otherGateway(let named, let signer): "the bundle names gateway \(named) but is signed by gateway \(signer)'s key"
        }
    }
}

/// A file copied in 1 MiB pieces, hashed on the way and synced; the copy is removed unless it
/// is the blob named.
enum VerifiedCopy {
    static func copy(_ source: URL, to target: URL, expecting sha256: String) throws -> Int64 {
        let input = open(source.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw FileError(path: source.path) }
        defer { close(input) }
        let output = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw FileError(path: target.path) }
        var keep = false
        defer {
            close(output)
            if !keep { unlink(target.path) }
        }
        var hasher = SHA256()
        var size: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(input, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileError(path: source.path)
            }
            if count == 0 { break }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            hasher.update(bufferPointer: piece)
            var written = 0
            while written < count {
                let result = write(output, piece.baseAddress! + written, count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: target.path)
                }
                written += result
            }
            size += Int64(count)
        }
        guard fsync(output) == 0 else { throw FileError(path: target.path) }
        let actual = hasher.finalize().hexString
        guard actual == sha256 else { throw BagCheckError.changed(source.lastPathComponent) }
        keep = true
        return size
    }
}
