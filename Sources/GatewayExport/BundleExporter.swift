import Crypto
import Evidence
import EvidenceBundle
import Foundation
import Store
import Sync
import SyncProtocol

/// Writes a BagIt bag (RFC 8493) of the selected items that a court can check with
/// `sha256sum`, `openssl` and `bagit.py`: the blobs, their record and custody, the signed
/// manifests and receipts that cover them, the keys, and the gateway's signature over it all.
public struct BundleExporter {
    let store: EvidenceStore
    let organisation: String

    public init(store: EvidenceStore, organisation: String? = nil) {
        self.store = store
        self.organisation = organisation ?? "fieldgate"
    }

    /// Exports to a folder, or a `.tar` archive when `destination` ends so; on failure nothing
    /// is left there. Records an `exported` custody event for each item once it is complete.
    public func export(_ selection: ExportSelection, to destination: URL, at date: Date = Date()) throws(BundleError) -> BundleSummary {
        guard let enrolment = try call({ try store.enrolment() }),
              let gatewayKey = try? Curve25519.Signing.PrivateKey(rawRepresentation: enrolment.gatewayPrivateKey) else {
            throw .notEnrolled
        }
        let (entries, unknown) = try call { try store.entries(selectedBy: selection) }
        guard unknown.isEmpty else { throw .unknownItems(unknown) }
        guard !entries.isEmpty else { throw .nothingSelected(selection.summary) }
        let batches = try call { try store.batches(holding: entries.map(\.item.id)) }
        let labels = Dictionary(uniqueKeysWithValues: entries.map { ($0.item.id, Self.label($0)) })
        let items = entries.map { entry in
            BagItem(label: Self.label(entry), kind: entry.item.kind.rawValue, sha256: entry.item.sha256, size: entry.item.size,
                    blobPath: store.blobs.path(of: entry.item.sha256).path, metadata: ManifestBuilder.item(for: entry).metadata,
                    custody: entry.custody)
        }
        let bagBatches = batches.map { exported in
            let batch = exported.batch
            return BagBatch(batchKey: batch.batchKey, serverBatchId: batch.serverBatchId, gatewayId: nil,
                            manifest: Self.signed(batch.manifestPayload, batch.manifestSignature),
                            receipt: Self.signed(batch.receiptPayload, batch.receiptSignature),
                            timestampReply: batch.timestampReply, timestampedAt: batch.timestampedAt,
                            timestampAuthority: batch.timestampAuthority,
                            members: Set(exported.itemIds.compactMap { labels[$0] }))
        }
        let context = BagContext(date: date, selection: selection.summary, organisation: organisation,
                                 exporter: .gateway(id: enrolment.gatewayId, name: enrolment.gatewayName, server: enrolment.serverURL),
                                 signingKey: gatewayKey, serverKey: WireCoding.publicKey(base64: enrolment.serverPublicKey))
        let summary = try writeBag(items: items, batches: bagBatches, context: context, to: destination)
        try call {
            try store.recordExport(bundleId: summary.bundleId, selection: selection, destination: destination.path,
                                   items: entries.map(\.item), tagManifestSha256: summary.tagManifestSha256, at: date)
        }
        return summary
    }

    /// "recording 12", "printout 3": the gateway's own name for an item.
    static func label(_ entry: SyncEntry) -> String { "\(entry.item.kind.rawValue) \(entry.item.sourceId)" }

    static func signed(_ payload: Data?, _ signature: String?) -> (payload: Data, signature: Data)? {
        guard let payload, let signature = signature.flatMap({ Data(base64Encoded: $0) }) else { return nil }
        return (payload, signature)
    }

    private func call<T>(_ body: () throws -> T) throws(BundleError) -> T {
        do { return try body() } catch { throw .store("\(error)") }
    }
}
