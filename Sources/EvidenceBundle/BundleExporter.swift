import Common
import Crypto
import Foundation
import Store
import Sync
import SyncProtocol

/// What an export made.
public struct BundleSummary: Sendable, Codable, Equatable {
    public var bundleId: String
    public var destination: String
    public var items: Int
    public var bytes: Int64
    public var receipted: Int
    public var signedByGateway: Int
    public var exportedOnly: Int
    /// Items whose content the gateway no longer holds (freed after the server's receipt).
    public var withoutContent: Int
    public var tagManifestSha256: String
}

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
        let batches = try call { try store.batches(holding: entries.map(\.item.id)) }.map(BatchDocuments.init)
        let asTar = destination.pathExtension.lowercased() == "tar"
        var writer = BagWriter(sink: asTar ? try TarSink(archive: destination) : try DirectorySink(root: destination))
        let context = BagContext(bundleId: UUID().uuidString.lowercased(), date: date, selection: selection, enrolment: enrolment,
                                 gatewayKey: gatewayKey, serverKey: WireCoding.publicKey(base64: enrolment.serverPublicKey),
                                 organisation: organisation)
        let summary: BundleSummary
        do {
            summary = try writer.write(entries: entries, batches: batches, blobs: store.blobs, context: context,
                                       destination: destination.path)
        } catch {
            try? FileManager.default.removeItem(at: destination)
            throw error
        }
        try call {
            try store.recordExport(bundleId: summary.bundleId, selection: selection, destination: destination.path,
                                   items: entries.map(\.item), tagManifestSha256: summary.tagManifestSha256, at: date)
        }
        return summary
    }

    private func call<T>(_ body: () throws -> T) throws(BundleError) -> T {
        do { return try body() } catch { throw .store("\(error)") }
    }
}

/// What every file of one bag is made from.
struct BagContext {
    var bundleId: String
    var date: Date
    var selection: ExportSelection
    var enrolment: SyncEnrolment
    var gatewayKey: Curve25519.Signing.PrivateKey
    var serverKey: Curve25519.Signing.PublicKey?
    var organisation: String
}
