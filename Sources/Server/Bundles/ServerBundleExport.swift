import Common
import Crypto
import Evidence
import EvidenceBundle
import Foundation
import SyncProtocol

/// Evidence bundles made from the server's records, for `fieldgate-server export`: the items
/// of any gateway that a selection names, each with the manifest its gateway signed (verified by
/// that gateway's key, in the bag), the server's receipt and its time-stamp; the server's key
/// signs the bag.
public enum ServerBundleExport {
    /// Exports to a folder, or a `.tar` archive when `destination` ends so, and records the
    /// export; on failure nothing is left there. `timestampAuthorityCA` (PEM) is the CA that
    /// `serve --tsa-ca-file` was given: required when a selected receipt carries a time-stamp.
    public static func export(_ selection: ExportSelection, to destination: URL, dataDirectory: URL,
                              database: DatabaseLocation = .dataFolder, blobs blobLocation: BlobLocation = .dataFolder,
                              serverKey: URL? = nil, timestampAuthorityCA: String? = nil,
                              organisation: String? = nil, serverName: String? = nil,
                              at date: Date = Date()) async throws -> BundleSummary {
        let folder = try DataFolder(dataDirectory)
        let repository = try await folder.openRepository(database)
        let signingKey = try await folder.serverKey(for: repository, override: serverKey)
        let (selected, unknown) = try await repository.exportableItems(selection.scope)
        guard unknown.isEmpty else { throw ServerExportError.unknownItems(unknown) }
        let items = selected.filter { taken(within: selection, $0.item.metadata) }
        guard !items.isEmpty else { throw ServerExportError.nothingSelected(selection.summary) }

        var batches: [String: BatchRecord] = [:]
        for id in Set(items.map(\.batchId)) {
            guard let batch = try await repository.batch(id: id) else { throw RepositoryError.corrupt("batch \(id) vanished during the export") }
            batches[id] = batch
        }
        var gateways: [BagGateway] = []
        for id in Set(batches.values.map(\.gatewayId)).sorted() {
            guard let gateway = try await repository.gateway(id: id), let key = gateway.publicKey.flatMap(WireCoding.publicKey(base64:))
            else { throw RepositoryError.corrupt("gateway \(id) of a committed batch has no public key") }
            gateways.append(BagGateway(id: gateway.id, name: gateway.name, publicKey: key))
        }
        let blobs = try folder.blobStorage(for: blobLocation).0
        // Blobs in a bucket are fetched into a scratch folder in the data folder first (the bag
        // is written from files); a folder store's blobs are read where they are.
        let scratch = folder.uploads.appendingPathComponent("export-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var bagItems: [BagItem] = []
        for selected in items {
            let file = try await blobs.localFile(of: selected.item.sha256, scratch: scratch)
            bagItems.append(BagItem(label: label(selected), kind: selected.item.kind, sha256: selected.item.sha256, size: selected.item.size,
                                    blobPath: file?.path, metadata: selected.item.metadata, custody: selected.item.custody))
        }
        var bagBatches: [BagBatch] = []
        var stamped = false
        // Batches in the order their first item was selected, i.e. commit order.
        var seen = Set<String>()
        for batchId in items.map(\.batchId) where seen.insert(batchId).inserted {
            guard let batch = batches[batchId] else { continue }
            let timestamp = try await repository.timestamp(batchId: batchId)
            stamped = stamped || timestamp != nil
            bagBatches.append(BagBatch(
                batchKey: batch.batchKey, serverBatchId: batch.id, gatewayId: batch.gatewayId,
                manifest: try signed(batch.envelope, what: "manifest", of: batch.id),
                receipt: try batch.receipt.map { try signed($0, what: "receipt", of: batch.id) },
                timestampReply: timestamp?.reply,
                timestampedAt: timestamp.map { Timestamp.string($0.stampedAt) },
                timestampAuthority: timestamp == nil ? nil : timestampAuthorityCA,
                members: Set(items.filter { $0.batchId == batchId }.map(label))))
        }
        if stamped, timestampAuthorityCA == nil { throw ServerExportError.timestampAuthorityNeeded }
        let context = BagContext(date: date, selection: selection.summary, organisation: organisation ?? "fieldgate",
                                 exporter: .server(name: serverName ?? ProcessInfo.processInfo.hostName),
                                 signingKey: signingKey, serverKey: signingKey.publicKey, gateways: gateways)
        let summary = try writeBag(items: bagItems, batches: bagBatches, context: context, to: destination)
        try await repository.recordExport(BundleExportRecord(
            id: summary.bundleId, selection: selection.summary, destination: destination.path, items: summary.items,
            bytes: summary.bytes, tagManifestSha256: summary.tagManifestSha256, exportedAt: date))
        return summary
    }

    /// Every bundle this server exported, oldest first.
    public static func exports(dataDirectory: URL, database: DatabaseLocation = .dataFolder) async throws -> [BundleExportRecord] {
        try await DataFolder(dataDirectory).openRepository(database).bundleExports()
    }

    /// "BATCH-ID #3": the item at that place in the batch, unique on this server.
    static func label(_ selected: ExportableItem) -> String { "\(selected.batchId) #\(selected.item.position)" }

    /// The payload bytes exactly as signed, and the raw signature, of a stored envelope.
    static func signed(_ envelopeText: String, what: String, of batchId: String) throws -> (payload: Data, signature: Data) {
        guard let envelope = try? WireCoding.decoder.decode(SignedEnvelope.self, from: Data(envelopeText.utf8)),
              let payload = Data(base64Encoded: envelope.payload), let signature = Data(base64Encoded: envelope.signature) else {
            throw RepositoryError.corrupt("batch \(batchId)'s stored \(what) is not a signed envelope")
        }
        return (payload, signature)
    }

    /// Whether the item was taken within the selection's window (by its start, print or capture time).
    static func taken(within selection: ExportSelection, _ metadata: [String: String]) -> Bool {
        guard selection.since != nil || selection.until != nil else { return true }
        guard let text = metadata["startedAt"] ?? metadata["printedAt"] ?? metadata["capturedAt"], let taken = Timestamp.parse(text)
        else { return false }
        if let since = selection.since, taken < since { return false }
        if let until = selection.until, taken >= until { return false }
        return true
    }
}

/// Why a server export made no bundle.
public enum ServerExportError: Error, CustomStringConvertible, Equatable {
    case nothingSelected(String)
    case unknownItems([String])
    case timestampAuthorityNeeded

    public var description: String {
        switch self {
        case .nothingSelected(let selection): "no receipted item matches \(selection)"
        case .unknownItems(let hashes): "no receipted item has the SHA-256 \(hashes.joined(separator: ", "))"
        case .timestampAuthorityNeeded:
            "the selected receipts carry RFC 3161 time-stamps: give --tsa-ca-file (the authority's CA, as `serve --tsa-ca-file` has it) so the bundle can prove them"
        }
    }
}
