import Common
import Crypto
import Foundation
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

    mutating func write(items: [BagItem], batches: [BagDocuments], context: BagContext,
                        destination: String) throws(BundleError) -> BundleSummary {
        try add("bagit.txt", Data("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n".utf8), tag: true)
        let files = try writeBlobs(items)
        try writeSignedDocuments(batches)
        try writeKeys(context, batches: batches)
        let document = itemsDocument(items, batches: batches, files: files, context: context)
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
        try add("verify.sh", Data(VerifyGuide.script(signerKey: context.signerKeyPath).utf8), tag: true)
        try add("index.html", Data(IndexPage.html(document, context: context).utf8), tag: true)
        let tagManifest = Data(tags.map { "\($0.sha256)  \($0.path)\n" }.joined().utf8)
        try sink.write("tagmanifest-sha256.txt", bytes: tagManifest)
        let signature: Data
        do { signature = try context.signingKey.signature(for: tagManifest) } catch { throw .io("tagmanifest-sha256.txt.sig", "\(error)") }
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

    /// Each blob once, streamed and checked against its hash; a blob the exporter no longer
    /// holds is left out (its item says so).
    private mutating func writeBlobs(_ items: [BagItem]) throws(BundleError) -> [String: String] {
        var files: [String: String] = [:]
        for item in items where files[item.sha256] == nil {
            guard let source = item.blobPath, FileManager.default.fileExists(atPath: source) else { continue }
            let path = item.fileName
            try sink.copy(path, from: source, sha256: item.sha256)
            payload.append((path, item.sha256))
            payloadBytes += item.size
            files[item.sha256] = path
        }
        return files
    }

    /// Each batch's manifest and receipt as signed, with its raw 64-byte signature beside it.
    private mutating func writeSignedDocuments(_ batches: [BagDocuments]) throws(BundleError) {
        for documents in batches {
            if let path = documents.manifestPath, let signed = documents.batch.manifest {
                try add(path, signed.payload)
                try add(path + ".sig", signed.signature)
            }
            if let path = documents.receiptPath, let signed = documents.batch.receipt {
                try add(path, signed.payload)
                try add(path + ".sig", signed.signature)
                if let timestampPath = documents.timestampPath, let reply = documents.batch.timestampReply {
                    try add(timestampPath, reply)
                }
            }
        }
    }

    private mutating func writeKeys(_ context: BagContext, batches: [BagDocuments]) throws(BundleError) {
        for (path, key) in context.publicKeys { try add(path, PublicKeyPEM.pem(key)) }
        let authorities = TimestampAuthorityPEM.certificates(of: batches)
        if !authorities.isEmpty { try add(TimestampAuthorityPEM.path, Data(authorities.joined().utf8)) }
    }

    private func itemsDocument(_ items: [BagItem], batches: [BagDocuments], files: [String: String],
                               context: BagContext) -> ItemsDocument {
        let rows = items.map { item in
            let manifests = batches.filter { $0.batch.members.contains(item.label) }.compactMap(\.manifestPath)
            let receipts = batches.filter { $0.receipts(item) }.compactMap(\.receiptPath)
            let standing: ItemStanding = !receipts.isEmpty ? .receipted : !manifests.isEmpty ? .signedByGateway : .exportedOnly
            return ItemsDocument.Item(id: item.label, kind: item.kind, sha256: item.sha256, size: item.size,
                                      file: files[item.sha256], standing: standing, metadata: item.metadata, custody: item.custody,
                                      manifests: manifests, receipts: receipts)
        }
        let batchRows = batches.map { documents in
            ItemsDocument.Batch(batchKey: documents.batch.batchKey, serverBatchId: documents.batch.serverBatchId,
                                gatewayId: documents.batch.gatewayId, manifest: documents.manifestPath, receipt: documents.receiptPath,
                                receiptVersion: documents.receipt?.version.rawValue, serverTime: documents.receipt?.serverTime,
                                timestamp: documents.timestampPath,
                                timestampedAt: documents.timestampPath.flatMap { _ in documents.batch.timestampedAt })
        }
        var keys = Dictionary(uniqueKeysWithValues: context.publicKeys.map { ($0.path, PublicKeyPEM.fingerprint($0.key)) })
        if let authority = TimestampAuthorityPEM.certificates(of: batches).first.flatMap(TimestampAuthorityPEM.fingerprint) {
            keys[TimestampAuthorityPEM.path] = authority
        }
        let exportedAt = Timestamp.string(context.date)
        switch context.exporter {
        case .gateway(let id, let name, let server):
            return ItemsDocument(bundleId: context.bundleId, exportedAt: exportedAt, exportedBy: "gateway", selection: context.selection,
                                 gatewayId: id, gatewayName: name, server: server, gateways: nil, keys: keys, items: rows,
                                 batches: batchRows)
        case .server(let name):
            let gateways = context.gateways.compactMap { gateway in
                BagDocuments.safeName(gateway.id).map { ItemsDocument.Gateway(id: gateway.id, name: gateway.name, key: "data/keys/gateways/\($0).pem") }
            }
            return ItemsDocument(bundleId: context.bundleId, exportedAt: exportedAt, exportedBy: "server", selection: context.selection,
                                 gatewayId: nil, gatewayName: nil, server: name, gateways: gateways, keys: keys, items: rows,
                                 batches: batchRows)
        }
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
            + line("External-Description", "Evidence exported by \(context.exporterDescription): \(document.selection)")
            + line("Bag-Software-Agent", "fieldgate")
            + line("Payload-Oxum", "\(payloadBytes).\(payload.count)")
            + line("Fieldgate-Export-Date", document.exportedAt)
            + line("Fieldgate-Exported-By", document.exportedBy)
            + line("Fieldgate-Selection", document.selection)
            + line("Fieldgate-Items", String(document.items.count))
            + line("Fieldgate-Receipted", String(counts[.receipted] ?? 0))
            + line("Fieldgate-Signed-By-Gateway-Only", String(counts[.signedByGateway] ?? 0))
            + line("Fieldgate-Not-Yet-Sent", String(counts[.exportedOnly] ?? 0))
            + line("Fieldgate-Server", document.server)
    }
}

/// Writes a bag of `items` to a folder, or a `.tar` archive when `destination` ends so; on
/// failure nothing is left there.
public func writeBag(items: [BagItem], batches: [BagBatch], context: BagContext, to destination: URL) throws(BundleError) -> BundleSummary {
    let asTar = destination.pathExtension.lowercased() == "tar"
    var writer = BagWriter(sink: asTar ? try TarSink(archive: destination) : try DirectorySink(root: destination))
    let documents = batches.enumerated().map { BagDocuments($0.element, index: $0.offset, context: context) }
    do {
        return try writer.write(items: items, batches: documents, context: context, destination: destination.path)
    } catch {
        try? FileManager.default.removeItem(at: destination)
        throw error
    }
}
