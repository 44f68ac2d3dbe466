import Common
import Crypto
import Foundation
import Store
import Sync
import SyncProtocol

/// Writes one bag through a sink, keeping the hash of every file for the manifests.
struct BagWriter {
    var sink: any BundleSink
    private(set) var payload: [(path: String, sha256: String)] = []
    private(set) var payloadBytes: Int64 = 0
    private(set) var tags: [(path: String, sha256: String)] = []

    init(sink: any BundleSink) { self.sink = sink }

    private mutating func add(_ path: String, _ data: Data, tag: Bool = false) throws(BundleError) {
        try sink.write(path, bytes: data)
        let sha256 = SHA256.hash(data: data).hexString
        if tag {
            tags.append((path, sha256))
        } else {
            payload.append((path, sha256))
            payloadBytes += Int64(data.count)
        }
    }

    mutating func write(entries: [SyncEntry], batches: [BatchDocuments], blobs: BlobStore, context: BagContext,
                        destination: String) throws(BundleError) -> BundleSummary {
        try add("bagit.txt", Data("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".utf8), tag: true)
        let files = try writeBlobs(entries, blobs: blobs)
        try writeSignedDocuments(batches)
        try writeKeys(context, batches: batches)
        let document = itemsDocument(entries, batches: batches, files: files, context: context)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        do {
            try add("data/items.json", try encoder.encode(document))
        } catch let error as BundleError {
            throw error
        } catch {
            throw .io("data/items.json", "\(error)")
        }
        let manifestText = payload.sorted { $0.path < $1.path }.map { "\($0.sha256)  \($0.path)\n" }.joined()
        try add("manifest-sha256.txt", Data(manifestText.utf8), tag: true)
        try add("bag-info.txt", Data(bagInfo(document, context: context).utf8), tag: true)
        try add("VERIFY.md", Data(VerifyGuide.markdown(context: context, timestampAuthorityFingerprint: document.keys[TimestampAuthorityPEM.path]).utf8), tag: true)
        try add("verify.sh", Data(VerifyGuide.script.utf8), tag: true)
        try add("index.html", Data(IndexPage.html(document, context: context).utf8), tag: true)
        let tagManifest = Data(tags.map { "\($0.sha256)  \($0.path)\n" }.joined().utf8)
        try sink.write("tagmanifest-sha256.txt", bytes: tagManifest)
        let signature: Data
        do { signature = try context.gatewayKey.signature(for: tagManifest) } catch { throw .io("tagmanifest-sha256.txt.sig", "\(error)") }
        try sink.write("tagmanifest-sha256.txt.sig", bytes: signature)
        try sink.finish()
        let standings = document.items.map(\.standing)
        return BundleSummary(bundleId: context.bundleId, destination: destination, items: document.items.count, bytes: payloadBytes,
                             receipted: standings.filter { $0 == .receipted }.count,
                             signedByGateway: standings.filter { $0 == .signedByGateway }.count,
                             exportedOnly: standings.filter { $0 == .exportedOnly }.count,
                             withoutContent: document.items.filter { $0.file == nil }.count,
                             tagManifestSha256: SHA256.hash(data: tagManifest).hexString)
    }

    /// Each blob once, streamed and checked against its hash; a blob the gateway no longer
    /// holds is left out (its item says so).
    private mutating func writeBlobs(_ entries: [SyncEntry], blobs: BlobStore) throws(BundleError) -> [String: String] {
        var files: [String: String] = [:]
        for entry in entries where files[entry.item.sha256] == nil {
            let source = blobs.path(of: entry.item.sha256).path
            guard FileManager.default.fileExists(atPath: source) else { continue }
            let path = itemFileName(entry)
            try sink.copy(path, from: source, sha256: entry.item.sha256)
            payload.append((path, entry.item.sha256))
            payloadBytes += entry.item.size
            files[entry.item.sha256] = path
        }
        return files
    }

    /// Each batch's manifest and receipt as signed, with its raw 64-byte signature beside it.
    private mutating func writeSignedDocuments(_ batches: [BatchDocuments]) throws(BundleError) {
        for documents in batches {
            if let path = documents.manifestPath, let bytes = documents.batch.manifestPayload,
               let signature = documents.batch.manifestSignature.flatMap({ Data(base64Encoded: $0) }) {
                try add(path, bytes)
                try add(path + ".sig", signature)
            }
            if let path = documents.receiptPath, let bytes = documents.batch.receiptPayload,
               let signature = documents.batch.receiptSignature.flatMap({ Data(base64Encoded: $0) }) {
                try add(path, bytes)
                try add(path + ".sig", signature)
                if let timestampPath = documents.timestampPath, let reply = documents.batch.timestampReply {
                    try add(timestampPath, reply)
                }
            }
        }
    }

    private mutating func writeKeys(_ context: BagContext, batches: [BatchDocuments]) throws(BundleError) {
        try add("data/keys/gateway.pem", PublicKeyPEM.pem(context.gatewayKey.publicKey))
        if let serverKey = context.serverKey { try add("data/keys/server.pem", PublicKeyPEM.pem(serverKey)) }
        let authorities = TimestampAuthorityPEM.certificates(of: batches)
        if !authorities.isEmpty { try add(TimestampAuthorityPEM.path, Data(authorities.joined().utf8)) }
    }

    private func itemsDocument(_ entries: [SyncEntry], batches: [BatchDocuments], files: [String: String],
                               context: BagContext) -> ItemsDocument {
        let items = entries.map { entry in
            let manifests = batches.filter { $0.itemIds.contains(entry.item.id) }.compactMap(\.manifestPath)
            let receipts = batches.filter { $0.receipts(entry) }.compactMap(\.receiptPath)
            let standing: ItemStanding = !receipts.isEmpty ? .receipted : !manifests.isEmpty ? .signedByGateway : .exportedOnly
            return ItemsDocument.Item(id: itemLabel(entry), kind: entry.item.kind.rawValue, sha256: entry.item.sha256, size: entry.item.size,
                                      file: files[entry.item.sha256], standing: standing,
                                      metadata: ManifestBuilder.item(for: entry).metadata, custody: entry.custody,
                                      manifests: manifests, receipts: receipts)
        }
        let batchRows = batches.map { documents in
            ItemsDocument.Batch(batchKey: documents.batch.batchKey, serverBatchId: documents.batch.serverBatchId,
                                manifest: documents.manifestPath, receipt: documents.receiptPath,
                                receiptVersion: documents.receipt?.version.rawValue, serverTime: documents.receipt?.serverTime,
                                timestamp: documents.timestampPath, timestampedAt: documents.timestampPath.flatMap { _ in documents.batch.timestampedAt })
        }
        var keys = ["data/keys/gateway.pem": PublicKeyPEM.fingerprint(context.gatewayKey.publicKey)]
        if let serverKey = context.serverKey { keys["data/keys/server.pem"] = PublicKeyPEM.fingerprint(serverKey) }
        if let authority = TimestampAuthorityPEM.certificates(of: batches).first.flatMap(TimestampAuthorityPEM.fingerprint) {
            keys[TimestampAuthorityPEM.path] = authority
        }
        return ItemsDocument(bundleId: context.bundleId, exportedAt: Timestamp.string(context.date), selection: context.selection.summary,
                             gatewayId: context.enrolment.gatewayId, gatewayName: context.enrolment.gatewayName,
                             server: context.enrolment.serverURL, keys: keys, items: items, batches: batchRows)
    }

    /// RFC 8493's reserved fields and this bag's own; one line each, control characters dropped.
    private func bagInfo(_ document: ItemsDocument, context: BagContext) -> String {
        func line(_ label: String, _ value: String) -> String {
            "\(label): " + String(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.map(Character.init)) + "\n"
        }
        let day = Timestamp.string(context.date).prefix(10)
        let counts = Dictionary(grouping: document.items, by: \.standing).mapValues(\.count)
        return line("Source-Organization", context.organisation)
            + line("Bagging-Date", String(day))
            + line("External-Identifier", context.bundleId)
            + line("External-Description", "Evidence exported by gateway \(document.gatewayName) (\(document.gatewayId)): \(document.selection)")
            + line("Bag-Software-Agent", "fieldgate")
            + line("Payload-Oxum", "\(payloadBytes).\(payload.count)")
            + line("Fieldgate-Export-Date", document.exportedAt)
            + line("Fieldgate-Selection", document.selection)
            + line("Fieldgate-Items", String(document.items.count))
            + line("Fieldgate-Receipted", String(counts[.receipted] ?? 0))
            + line("Fieldgate-Signed-By-Gateway-Only", String(counts[.signedByGateway] ?? 0))
            + line("Fieldgate-Not-Yet-Sent", String(counts[.exportedOnly] ?? 0))
            + line("Fieldgate-Server", document.server)
    }
}
