import Common
import Evidence
import EvidenceBundle
import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// `fieldgate-server export`'s selection and record, on each backend: committed items only,
/// chosen by officer, camera, case, hash and time window, from every gateway; each export kept.
final class ServerExportTests: ServerTestCase {
    struct Committed {
        var gateways: [TestGateway]
        /// Each blob by its officer's, camera's or case's name in the test.
        var blobs: [String: Data]
    }

    func commit(_ gateway: TestGateway, _ blobs: [(Data, [String: String])]) async throws {
        let created = try await postManifest(gateway, items: blobs.map { item($0.0, metadata: $0.1) }).decode(BatchCreated.self)
        for (blob, _) in blobs { try await upload(gateway, blob) }
        let commit = try await send("POST", "/v1/batches/\(created.batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
    }

    /// Two gateways' committed batches, and a batch still open (never receipted).
    func committedEvidence() async throws -> Committed {
        let first = try await enrol("team-1")
        let second = try await enrol("team-2")
        let blobs = ["a": Self.randomBlob(3000), "b": Self.randomBlob(2000), "c": Self.randomBlob(1000), "open": Self.randomBlob(500)]
        try await commit(first, [
            (blobs["a"]!, ["officer": "100001", "camera": "CAM-1", "startedAt": "2026-11-25T08:30:00.000Z", "source": "A_0001.MP4"]),
            (blobs["b"]!, ["officer": "100002", "camera": "CAM-2", "startedAt": "2026-11-25T09:00:00.000Z", "case": "城管罚字〔2026〕第12号"]),
        ])
        try await commit(second, [(blobs["c"]!, ["officer": "100001", "camera": "CAM-9", "startedAt": "2026-11-27T10:00:00.000Z"])])
        let open = try await postManifest(second, items: [item(blobs["open"]!, metadata: ["officer": "100001", "camera": "CAM-9"])])
        XCTAssertEqual(open.status, 201, open.errorReason ?? "")
        return Committed(gateways: [first, second], blobs: blobs)
    }

    func export(_ scope: ExportSelection.Scope, since: String? = nil, until: String? = nil, name: String) async throws -> (BundleSummary, URL) {
        let destination = try temporaryFolder(self).appendingPathComponent(name)
        let selection = ExportSelection(scope: scope, since: since.flatMap(Timestamp.parse), until: until.flatMap(Timestamp.parse))
        let summary = try await ServerBundleExport.export(selection, to: destination, dataDirectory: data, database: database, blobs: blobs)
        return (summary, destination)
    }

    func exportedHashes(_ bag: URL) throws -> Set<String> {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: bag.appendingPathComponent("data/items.json"))) as? [String: Any]
        return Set((document?["items"] as? [[String: Any]] ?? []).compactMap { $0["sha256"] as? String })
    }

    func testEachSelectionTakesTheCommittedItemsItNamesFromEveryGateway() async throws {
        let committed = try await committedEvidence()
        let hash = { (name: String) in Self.sha256(committed.blobs[name]!) }

        let (byOfficer, officerBag) = try await export(.officer("100001"), name: "officer")
        XCTAssertEqual(try exportedHashes(officerBag), [hash("a"), hash("c")], "both gateways' receipted items, not the open batch's")
        XCTAssertEqual(byOfficer.receipted, 2)
        let verified = try runProgram("/bin/sh", [officerBag.appendingPathComponent("verify.sh").path], environment: ["LC_ALL": "C"], timeout: 60)
        XCTAssertEqual(verified.status, 0, verified.stdout)
        XCTAssertTrue(verified.stdout.contains("BUNDLE VERIFIED: 2 item file(s): 2 receipted by the server"), verified.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: officerBag.appendingPathComponent("data/manifests").path).sorted(),
                       committed.gateways.map(\.id).sorted())
        XCTAssertTrue(FileManager.default.fileExists(atPath: officerBag.appendingPathComponent("data/items/\(hash("a")).mp4").path))

        let (_, caseBag) = try await export(.caseNumber("城管罚字〔2026〕第12号"), name: "case")
        XCTAssertEqual(try exportedHashes(caseBag), [hash("b")])
        let (_, cameraBag) = try await export(.camera("CAM-9"), name: "camera")
        XCTAssertEqual(try exportedHashes(cameraBag), [hash("c")])
        let (_, itemBag) = try await export(.items([hash("b"), hash("c")]), name: "items")
        XCTAssertEqual(try exportedHashes(itemBag), [hash("b"), hash("c")])
        let (_, windowBag) = try await export(.officer("100001"), since: "2026-11-26", until: "2026-11-28", name: "window")
        XCTAssertEqual(try exportedHashes(windowBag), [hash("c")])

        let exports = try await ServerBundleExport.exports(dataDirectory: data, database: database)
        XCTAssertEqual(exports.map(\.selection), ["officer 100001", "case 城管罚字〔2026〕第12号", "camera CAM-9",
                                                  "items \(hash("b")) \(hash("c"))",
                                                  "officer 100001 since 2026-11-26T00:00:00.000Z until 2026-11-28T00:00:00.000Z"])
        XCTAssertEqual(exports.first?.id, byOfficer.bundleId)
        XCTAssertEqual(exports.first?.items, 2)
        XCTAssertEqual(exports.first?.destination, officerBag.path)
    }

    func testASelectionThatNamesNothingReceiptedIsRefusedAndNotRecorded() async throws {
        let committed = try await committedEvidence()
        do {
            _ = try await export(.items([Self.sha256(committed.blobs["open"]!)]), name: "open")
            XCTFail("an item never receipted was exported")
        } catch let error as ServerExportError {
            XCTAssertEqual(error, .unknownItems([Self.sha256(committed.blobs["open"]!)]))
        }
        // Quotes and SQL in a selection are values, never SQL.
        for hostile in ["' OR 1=1 --", "100001' OR '1'='1", "\"; DROP TABLE batch; --"] {
            do {
                _ = try await export(.officer(hostile), name: "hostile")
                XCTFail("\(hostile) selected something")
            } catch let error as ServerExportError {
                XCTAssertEqual(error, .nothingSelected("officer \(hostile)"))
            }
        }
        do {
            _ = try await export(.officer("100001"), until: "2000-01-01", name: "before")
            XCTFail("a window with nothing in it was exported")
        } catch let error as ServerExportError {
            XCTAssertEqual(error, .nothingSelected("officer 100001 until 2000-01-01T00:00:00.000Z"))
        }
        let exports = try await ServerBundleExport.exports(dataDirectory: data, database: database)
        XCTAssertTrue(exports.isEmpty)
        // The records are intact after the hostile selections.
        let (_, bag) = try await export(.officer("100001"), name: "after")
        XCTAssertEqual(try exportedHashes(bag).count, 2)
    }

    /// A bag the gateway's own key signs, as `fieldgate export` writes it, of one recording.
    func gatewayBag(of gateway: TestGateway, blob: Data, in folder: URL) throws -> URL {
        let hash = Self.sha256(blob)
        let file = folder.appendingPathComponent("clip.mp4")
        try blob.write(to: file)
        var event = CustodyEvent(seq: 7, at: "2026-11-28T09:00:00.000Z", kind: .collected, cameraSerial: "CAM-5", recordingId: 3,
                                 sha256: hash, details: "{}", previousHash: CustodyEvent.genesisHash, hash: "")
        event.hash = event.computedHash()
        let item = BagItem(label: "recording 3", kind: "recording", sha256: hash, size: Int64(blob.count), blobPath: file.path,
                           metadata: ["officer": "100009", "camera": "CAM-5", "source": "CAM-5_0003.MP4", "startedAt": "2026-11-28T08:00:00.000Z"],
                           custody: [event])
        let context = BagContext(date: Date(), selection: "items 3", organisation: "test", exporter: .gateway(id: gateway.id, name: gateway.name, server: "http://127.0.0.1"),
                                 signingKey: gateway.key, serverKey: gateway.serverPublicKey)
        let bag = folder.appendingPathComponent("bag")
        _ = try writeBag(items: [item], batches: [], context: context, to: bag)
        return bag
    }

    func testABundleCarriedByHandIsTakenInOnceAndRecordedOnEachBackend() async throws {
        let gateway = try await enrol("team-offline")
        let blob = Self.randomBlob(40_000)
        let bag = try gatewayBag(of: gateway, blob: blob, in: try temporaryFolder(self))
        let first = try await BundleImport.importBundle(at: bag, dataDirectory: data, database: database, blobs: blobs)
        XCTAssertEqual(first.imported, 1)
        XCTAssertEqual(first.newBlobs, 1)
        XCTAssertEqual(first.newBytes, Int64(blob.count))
        XCTAssertEqual(try storedBlob(Self.sha256(blob)), blob)
        // The gateway sees it receipted through the API, as if it had synced it.
        let evidence = try await send("GET", "/v1/evidence/\(Self.sha256(blob))", headers: gateway.bearer)
        XCTAssertEqual(evidence.status, 200, evidence.errorReason ?? "")

        let again = try await BundleImport.importBundle(at: bag, dataDirectory: data, database: database, blobs: blobs)
        XCTAssertEqual(again.imported, 0)
        XCTAssertEqual(again.alreadyReceipted, 1)
        let imports = try await BundleImport.imports(dataDirectory: data, database: database)
        XCTAssertEqual(imports.map(\.imported), [1, 0])
        XCTAssertEqual(imports.first?.batchId, first.batchId)
        XCTAssertNil(imports.last?.batchId)

        // Exported again by the server, the hand-carried batch verifies with standard tools.
        let (summary, serverBag) = try await export(.officer("100009"), name: "hand-carried")
        XCTAssertEqual(summary.receipted, 1)
        let verified = try runProgram("/bin/sh", [serverBag.appendingPathComponent("verify.sh").path], environment: ["LC_ALL": "C"], timeout: 60)
        XCTAssertEqual(verified.status, 0, verified.stdout)
    }
}
