import Crypto
import Foundation
import Store
import TestSupport
import USBEmulation
import XCTest

/// `fieldgate-server export` bundles: the receipted items of several gateways in one bag that
/// the server signs, each manifest verified by the key of the gateway that sent it, checked by
/// the same tools that are not ours. The setup (one gateway synced and time-stamped, then more
/// collected and not sent) is `BundleExportTests`'.
extension BundleExportTests {
    func fieldgateServer(_ arguments: [String]) throws -> CommandResult {
        try runProgram(builtBinary("fieldgate-server").path, arguments + ["--data", server.data.path], environment: ["LC_ALL": "C"],
                       timeout: 120)
    }

    /// A second gateway, with recordings by the same officer, synced to the same server.
    func secondGateway() throws -> (home: URL, items: Int) {
        let otherHome = work.appendingPathComponent("gateway-2")
        let token = try server.addGateway("team-2")
        func other(_ arguments: [String]) throws -> CommandResult {
            try runProgram(builtBinary("fieldgate").path, arguments + ["--home", otherHome.path], environment: ["LC_ALL": "C"], timeout: 120)
        }
        XCTAssertEqual(try other(["enroll", "--server", server.url, "--token", token]).status, 0)
        let volume = work.appendingPathComponent("volume-D222222")
        let files = try SampleRecordings.writeVolume(at: volume, cameraSerial: "D222222", officerNumber: "100001", start: "20261125100000",
                                                     videos: 1, oddFiles: false)
        XCTAssertEqual(try other(["collect", "--from", volume.path, "--camera", "D222222"]).status, 0)
        let sync = try other(["sync"])
        XCTAssertEqual(sync.status, 0, sync.stderr + sync.stdout)
        return (otherHome, files.count)
    }

    func serverExport(_ selection: [String], to destination: URL, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let result = try fieldgateServer(["export"] + selection + ["--to", destination.path, "--tsa-ca-file", authority.caCertificate.path,
                                                                   "--organisation", "某市城市管理综合行政执法局"])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout, file: file, line: line)
        return destination
    }

    func testTheServerExportsEveryGatewaysReceiptedItemsInOneBagThatStandardToolsVerify() throws {
        let second = try secondGateway()
        let bag = try serverExport(["--officer", "100001"], to: work.appendingPathComponent("server-证据包"))
        let verified = try verify(bag)
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        let listed = try items(bag)
        // Only what the server receipted: the first gateway's later, unsent recordings are not in it.
        XCTAssertEqual(listed.count, receiptedCount + second.items)
        XCTAssertTrue(listed.allSatisfy { $0["standing"] as? String == "receipted" }, "\(listed)")
        let blobs = Set(listed.compactMap { $0["sha256"] as? String }).count
        XCTAssertTrue(verified.stdout.contains("BUNDLE VERIFIED: \(blobs) item file(s): \(blobs) receipted by the server, 0 signed by the gateway only, 0 not yet sent"),
                      verified.stdout)
        for item in listed {
            XCTAssertEqual((item["metadata"] as? [String: String])?["officer"], "100001")
            XCTAssertFalse((item["custody"] as? [Any] ?? []).isEmpty, "the custody as the gateway sent it")
        }

        let bagit = try run("/usr/bin/env", ["bagit.py", "--validate", bag.path])
        XCTAssertEqual(bagit.status, 0, bagit.stderr)
        XCTAssertEqual(try run("/usr/bin/sha256sum", ["-c", "manifest-sha256.txt"], in: bag).status, 0)
        XCTAssertEqual(try run("/usr/bin/sha256sum", ["-c", "tagmanifest-sha256.txt"], in: bag).status, 0)
        // The server signs the bag and its receipts; each gateway its own manifests, by its own key.
        XCTAssertFalse(FileManager.default.fileExists(atPath: bag.appendingPathComponent("data/keys/gateway.pem").path))
        let gatewayFolders = try files(in: bag, under: "data/manifests")
        XCTAssertEqual(gatewayFolders.count, 2, "one folder of manifests per gateway")
        var signed = [("data/keys/server.pem", "tagmanifest-sha256.txt")]
        for folder in gatewayFolders {
            let key = "data/keys/gateways/\(folder.split(separator: "/").last!).pem"
            signed += try files(in: bag, under: folder).filter { $0.hasSuffix(".json") }.map { (key, $0) }
        }
        signed += try files(in: bag, under: "data/receipts").filter { $0.hasSuffix(".json") }.map { ("data/keys/server.pem", $0) }
        XCTAssertEqual(signed.count, 5, "the bag's signature, two manifests and two receipts")
        for (key, payload) in signed {
            let check = try run("/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", payload, "-sigfile", payload + ".sig"], in: bag)
            XCTAssertEqual(check.status, 0, "\(payload) with \(key): \(check.stdout)\(check.stderr)")
        }
        // A manifest does not verify with the other gateway's key.
        let crossed = signed[1]
        let otherKey = signed.first { $0.0.hasPrefix("data/keys/gateways/") && $0.0 != crossed.0 }!.0
        XCTAssertNotEqual(try run("/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", otherKey, "-rawin", "-in", crossed.1,
                                                       "-sigfile", crossed.1 + ".sig"], in: bag).status, 0)
        // The first gateway's receipt was time-stamped before the export: openssl ts proves it.
        let stamped = try files(in: bag, under: "data/receipts").filter { $0.hasSuffix(".tsr") }
        XCTAssertFalse(stamped.isEmpty)
        for token in stamped {
            let receipt = String(token.dropLast(4))
            let checked = try run("/usr/bin/openssl", ["ts", "-verify", "-data", receipt, "-in", token, "-CAfile", authority.caCertificate.path], in: bag)
            XCTAssertEqual(checked.status, 0, checked.stdout + checked.stderr)
        }

        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: bag.appendingPathComponent("data/items.json"))) as? [String: Any])
        XCTAssertEqual(document["exportedBy"] as? String, "server")
        XCTAssertEqual((document["gateways"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted(), ["team-1", "team-2"])
        let info = try String(contentsOf: bag.appendingPathComponent("bag-info.txt"), encoding: .utf8)
        XCTAssertTrue(info.contains("Fieldgate-Exported-By: server") && info.contains("Source-Organization: 某市城市管理综合行政执法局"), info)
        XCTAssertTrue(try String(contentsOf: bag.appendingPathComponent("index.html"), encoding: .utf8).contains("team-2"))

        // The export is recorded, with the hash of the tag manifest the server signed.
        let exports = try fieldgateServer(["exports", "--json"])
        XCTAssertEqual(exports.status, 0, exports.stderr)
        let recorded = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(exports.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(recorded.count, 1)
        XCTAssertEqual(recorded.first?["destination"] as? String, bag.path)
        XCTAssertEqual(recorded.first?["items"] as? Int, listed.count)
        let tagManifest = try Data(contentsOf: bag.appendingPathComponent("tagmanifest-sha256.txt"))
        XCTAssertEqual(recorded.first?["tagManifestSha256"] as? String, SHA256.hash(data: tagManifest).map { String(format: "%02x", $0) }.joined())
        XCTAssertTrue(try fieldgateServer(["exports"]).stdout.contains("officer 100001"))
    }

    func testTamperingWithAServerBundleIsCaughtAndNamed() throws {
        _ = try secondGateway()
        let bag = try serverExport(["--officer", "100001"], to: work.appendingPathComponent("server-bag"))
        let folders = try files(in: bag, under: "data/manifests")
        let manifest = try XCTUnwrap(try files(in: bag, under: folders[0]).first { $0.hasSuffix(".json") })
        let keyOfFirst = "data/keys/gateways/\(folders[0].split(separator: "/").last!).pem"
        let keyOfSecond = "data/keys/gateways/\(folders[1].split(separator: "/").last!).pem"

        let changed = try copy(bag, "server-manifest")
        try flipByte(changed.appendingPathComponent(manifest))
        try assertCaught(changed, naming: ["\(manifest) has been changed", "\(manifest): its signature does not verify with the key in \(keyOfFirst)"])

        // One gateway's key in place of another's, with every list redone: the manifest's signature still fails.
        let swapped = try copy(bag, "server-key")
        let redo = try run("/bin/sh", ["-c", """
            cp '\(keyOfSecond)' '\(keyOfFirst)' &&
            grep -v '  \(keyOfFirst)$' manifest-sha256.txt > m && sha256sum '\(keyOfFirst)' >> m && mv m manifest-sha256.txt &&
            grep -v '  manifest-sha256.txt$' tagmanifest-sha256.txt > t && sha256sum manifest-sha256.txt >> t && mv t tagmanifest-sha256.txt
            """], in: swapped)
        XCTAssertEqual(redo.status, 0, redo.stderr)
        try assertCaught(swapped, naming: ["tagmanifest-sha256.txt: its signature does not verify with the key in data/keys/server.pem",
                                           "\(manifest): its signature does not verify with the key in \(keyOfFirst)"], bagitFails: false)

        let missing = try copy(bag, "server-missing-key")
        try FileManager.default.removeItem(at: missing.appendingPathComponent(keyOfFirst))
        try assertCaught(missing, naming: ["\(keyOfFirst) is missing", "\(manifest): the key that verifies it, \(keyOfFirst), is missing"])
    }

    func testAServerExportThatCannotBeMadeSaysWhyAndLeavesNothing() throws {
        let target = work.appendingPathComponent("refused")
        func refused(_ arguments: [String], _ expected: String, status: Int32 = 1, file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try fieldgateServer(["export"] + arguments)
            XCTAssertEqual(result.status, status, result.stdout + result.stderr, file: file, line: line)
            XCTAssertTrue(result.stderr.contains(expected), "\(expected) not in: \(result.stderr)", file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target.path), "a refused export left \(target.path)", file: file, line: line)
        }
        let caFile = ["--tsa-ca-file", authority.caCertificate.path]
        try refused(["--officer", "999999", "--to", target.path] + caFile, "no receipted item matches officer 999999")
        let absent = String(repeating: "ab", count: 32)
        try refused(["--item", absent, "--to", target.path] + caFile, "no receipted item has the SHA-256 \(absent)")
        try refused(["--item", "../../etc/passwd", "--to", target.path], "not a SHA-256", status: 64)
        try refused(["--officer", "100001", "--camera", "A123456", "--to", target.path], "exactly one of", status: 64)
        try refused(["--officer", "100001", "--to", target.path], "give --tsa-ca-file")
        try refused(["--officer", "100001", "--since", "yesterday", "--to", target.path], "not YYYY-MM-DD", status: 64)
        // Outside the window: nothing taken before 2000.
        try refused(["--officer", "100001", "--until", "2000-01-01", "--to", target.path] + caFile, "no receipted item matches officer 100001 until")
        let occupied = work.appendingPathComponent("occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("kept".utf8).write(to: occupied.appendingPathComponent("note.txt"))
        let result = try fieldgateServer(["export", "--officer", "100001", "--to", occupied.path] + caFile)
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertTrue(result.stderr.contains("exists and is not empty"), result.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: occupied.path), ["note.txt"])
        let exports = try JSONSerialization.jsonObject(with: Data(try fieldgateServer(["exports", "--json"]).stdout.utf8)) as? [Any]
        XCTAssertEqual(exports?.count, 0, "a refused export is not recorded")
    }
}

/// Recordings bound to a case at the gateway: `export --case` takes them with the case's
/// paperwork, and once synced the server's `export --case` does too.
extension BundleExportTests {
    func recordingIds(camera: String) throws -> [Int64] {
        let listed = try fieldgate(["list", "--camera", camera, "--json"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return rows.compactMap { ($0["id"] as? NSNumber)?.int64Value }
    }

    func testRecordingsBoundToACaseAreExportedByTheCaseOnBothSides() throws {
        let number = "城管罚字〔2026〕第0123号"
        let roster = work.appendingPathComponent("cases.csv")
        try Data("number,title,procedure,opened_at\n\(number),占道经营,general,2026-11-25\nX-2,其他,simple,\n".utf8).write(to: roster)
        XCTAssertEqual(try fieldgate(["cases", "import", roster.path]).status, 0)
        let unsent = try recordingIds(camera: "B654321")
        XCTAssertEqual(unsent.count, unsentCount)

        let bound = try fieldgate(["cases", "bind", number] + unsent.map(String.init))
        XCTAssertEqual(bound.status, 0, bound.stderr)
        XCTAssertTrue(bound.stdout.contains("Bound \(unsentCount) recording(s) to case \(number)"), bound.stdout)
        let again = try fieldgate(["cases", "bind", number, String(unsent[0]), "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((answer["bound"] as? [Any])?.count, 0, "binding again to the same case changes nothing")
        // Refusals change nothing: a recording belongs to one case; the case and recordings must exist.
        for (arguments, expected) in [(["X-2", String(unsent[0])], "is bound to case \(number) already"),
                                      (["NO-SUCH-CASE", String(unsent[0])], "no case NO-SUCH-CASE at this gateway"),
                                      ([number, "999999"], "no recording 999999 in the store")] {
            let refused = try fieldgate(["cases", "bind"] + arguments)
            XCTAssertNotEqual(refused.status, 0, refused.stdout)
            XCTAssertTrue(refused.stderr.contains(expected), "\(expected) not in \(refused.stderr)")
        }
        let store = try EvidenceStore(home: home)
        for id in unsent {
            let events = try store.custodyEvents(recordingId: id).filter { $0.kind == .caseBound }
            XCTAssertEqual(events.count, 1, "recording \(id) has one case-bound event")
            XCTAssertTrue(events.first?.details.contains(number) == true)
        }
        XCTAssertEqual(try fieldgate(["audit", "verify"]).status, 0)

        // The gateway's case export takes exactly the bound recordings.
        let bag = try export(["--case", number], to: work.appendingPathComponent("case-gateway"))
        let listed = try items(bag)
        XCTAssertEqual(listed.count, unsentCount)
        XCTAssertTrue(listed.allSatisfy { ($0["metadata"] as? [String: String])?["case"] == number })
        XCTAssertEqual(try verify(bag).status, 0)

        // Synced after binding, the manifests name the case: the server's case export finds them.
        try syncUntilTimeStamped()
        let serverBag = try serverExport(["--case", number], to: work.appendingPathComponent("case-server"))
        let verified = try verify(serverBag)
        XCTAssertEqual(verified.status, 0, verified.stdout)
        XCTAssertEqual(try items(serverBag).count, unsentCount)
        XCTAssertTrue(verified.stdout.contains("\(Set(try items(serverBag).compactMap { $0["sha256"] as? String }).count) receipted by the server"), verified.stdout)
    }
}
