import Foundation
import GRDB
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Retention, on a clock the test sets: only categorised items past their category's period
/// expire; case-bound, important, held and uncategorised items are kept; an expired item is
/// recycled, restorable, then deleted by a later run, its bytes removed only when no other item
/// holds them; the dry run changes nothing; each step is custody and access log.
final class ConsoleRetentionTests: ServerTestCase {
    private let password = "correct horse battery"
    private var blobs6: [Data] = []
    private var batchId = "", otherBatchId = ""

    /// Items 0–5: expires (service), important, case, uncategorised, held, expires (service);
    /// another gateway's item with item 3's bytes, categorised service, expires too.
    private func setUpItems() async throws {
        let gateway = try await enrol("station-east"), other = try await enrol("station-west")
        blobs6 = (0..<6).map { _ in Self.randomBlob(3_000) }
        let metadata: [[String: String]] = [["officer": "A-1"], ["officer": "A-1", "important": "true"], ["officer": "A-1", "case": "ZF-9"],
                                            ["officer": "A-1"], ["officer": "A-1"], ["officer": "A-1"]]
        let created = try await postManifest(gateway, items: zip(blobs6, metadata).map { item($0, metadata: $1) })
        for blob in blobs6 { try await upload(gateway, blob) }
        batchId = try created.decode(BatchCreated.self).batchId
        let committed = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(committed.status, 200)
        let shared = try await postManifest(other, items: [item(blobs6[3], metadata: ["officer": "B-2"])])
        try await upload(other, blobs6[3])
        otherBatchId = try shared.decode(BatchCreated.self).batchId
        let otherCommitted = try await send("POST", "/v1/batches/\(otherBatchId)/commit", headers: other.bearer)
        XCTAssertEqual(otherCommitted.status, 200)
        try await ConsoleAccounts.add(name: "rev.he", role: .reviewer, password: password, dataDirectory: data, database: database)
        var reviewer = CookieJar()
        _ = try await consoleSignIn("rev.he", password, &reviewer)
        for (batch, position, held) in [(batchId, 0, false), (batchId, 1, false), (batchId, 2, false), (batchId, 4, true), (batchId, 5, false),
                                        (otherBatchId, 0, false)] {
            try await review(batch, position, [("category", "service")] + (held ? [("held", "1")] : []), &reviewer)
        }
    }

    private func review(_ batch: String, _ position: Int, _ fields: [(String, String)], _ jar: inout CookieJar) async throws {
        let path = "/console/items/\(batch)/\(position)"
        let html = text(try await visit("GET", path, &jar))
        let start = try XCTUnwrap(html.range(of: "name=\"csrf\" value=\"")?.upperBound)
        let csrf = String(html[start...].prefix { $0 != "\"" })
        let answer = try await visit("POST", path + "/review", &jar, form: [("csrf", csrf)] + fields)
        XCTAssertEqual(answer.status, 303, text(answer))
    }

    private func run(daysFromNow days: Double, apply: Bool) async throws -> RetentionReport {
        try await RetentionRun.run(dataDirectory: data, database: database, blobs: blobs, now: Date().addingTimeInterval(days * 86400), apply: apply)
    }

    private func items(_ entries: [RetentionReport.Entry]) -> [String] { entries.map(\.item).sorted() }

    func testOnlyExpiredCategorisedItemsGoAndOnlyThroughARunThatIsAppliedAfterTheirRecycle() async throws {
        try await setUpItems()
        let early = try await run(daysFromNow: 100, apply: true)
        XCTAssertEqual(early.recycled + early.deleted + early.restored, [], "nothing is due before its period")
        let dry = try await run(daysFromNow: 190, apply: false)
        let expiring = ["\(batchId)/0", "\(batchId)/5", "\(otherBatchId)/0"].sorted()
        XCTAssertEqual(items(dry.recycled), expiring, "important, case-bound, held and uncategorised items are kept")
        let again = try await run(daysFromNow: 190, apply: false)
        XCTAssertEqual(items(again.recycled), expiring, "a dry run changes nothing")

        let recycled = try await run(daysFromNow: 190, apply: true)
        XCTAssertEqual(items(recycled.recycled), expiring)
        XCTAssertEqual(recycled.deleted, [], "nothing is deleted in the run that recycles it")
        XCTAssertEqual(try storedBlob(Self.sha256(blobs6[0])), blobs6[0], "recycled bytes stay, restorable")

        // A case bound during the recycle keeps item 5; item 0 is restored by hand and recycled again later.
        var reviewer = CookieJar()
        clock.advance(by: 191 * 86400)
        _ = try await consoleSignIn("rev.he", password, &reviewer)
        try await review(batchId, 5, [("category", "service"), ("case", "ZF-2026-0777")], &reviewer)
        let page = text(try await visit("GET", "/console/items/\(batchId)/0", &reviewer))
        XCTAssertTrue(page.contains("回收状态"), page)
        let retention = text(try await visit("GET", "/console/retention", &reviewer))
        XCTAssertTrue(retention.contains(String(Self.sha256(blobs6[0]).prefix(12))), "the recycled item is listed")

        let tooEarly = try await run(daysFromNow: 195, apply: true)
        XCTAssertEqual(tooEarly.deleted, [], "the recycle wait is \(RetentionPolicy.recycleDays) days")
        XCTAssertEqual(items(tooEarly.restored), ["\(batchId)/5"], "a recycled item bound to a case meanwhile comes back")

        let purged = try await run(daysFromNow: 198, apply: true)
        XCTAssertEqual(items(purged.deleted), ["\(batchId)/0", "\(otherBatchId)/0"].sorted())
        XCTAssertEqual(purged.blobsRemoved, 1, "bytes another item still holds stay")
        XCTAssertNil(try storedBlob(Self.sha256(blobs6[0])))
        XCTAssertEqual(try storedBlob(Self.sha256(blobs6[3])), blobs6[3], "item 3 (uncategorised, kept) still holds these bytes")
        for kept in [1, 2, 4, 5] { XCTAssertEqual(try storedBlob(Self.sha256(blobs6[kept])), blobs6[kept]) }
        let after = try await run(daysFromNow: 400, apply: true)
        XCTAssertEqual(after.recycled + after.deleted, [], "held, important, case-bound, uncategorised: never")

        // The record stays, the bytes are gone, and a gateway sending the same bytes again must upload them.
        clock.advance(by: 10 * 86400)
        var late = CookieJar()
        _ = try await consoleSignIn("rev.he", password, &late)
        let deletedPage = text(try await visit("GET", "/console/items/\(batchId)/0", &late))
        XCTAssertTrue(deletedPage.contains("已删除于"), deletedPage)
        XCTAssertTrue(deletedPage.contains("删除") && deletedPage.contains("保存期满，进入回收状态"), "recycling and deletion are custody events")
        let content = try await visit("GET", "/console/items/\(batchId)/0/content", &late)
        XCTAssertEqual(content.status, 410)
        let gateway = try await enrol("station-north")
        let resent = try await postManifest(gateway, items: [item(blobs6[0])])
        XCTAssertEqual(try resent.decode(BatchCreated.self).missing, [Self.sha256(blobs6[0])], "the server no longer claims these bytes")
        let recheck = try await postManifest(gateway, items: [item(blobs6[3])])
        XCTAssertEqual(try recheck.decode(BatchCreated.self).missing, [Self.sha256(blobs6[3])], "possession is proven anew by a new gateway")

        // Every step is in the access log, by the system user who ran it.
        try await ConsoleAccounts.add(name: "audit.su", role: .auditor, password: password, dataDirectory: data, database: database)
        var auditor = CookieJar()
        _ = try await consoleSignIn("audit.su", password, &auditor)
        let csv = text(try await visit("GET", "/console/access-log.csv", &auditor))
        let rows = csv.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let steps = rows.filter { $0[4].hasPrefix("retention-") }
        XCTAssertEqual(steps.filter { $0[4] == "retention-recycled" }.count, 3)
        XCTAssertEqual(steps.filter { $0[4] == "retention-restored" }.count, 1)
        XCTAssertEqual(steps.filter { $0[4] == "retention-deleted" }.count, 2)
        XCTAssertTrue(steps.allSatisfy { $0[2].hasPrefix("cli:") })
    }

    func testARecycledItemIsRestoredByHandAndTheCommandSaysWhatIsDue() async throws {
        try await setUpItems()
        _ = try await run(daysFromNow: 190, apply: true)
        try await RetentionRun.restore(item: "\(batchId)/0", dataDirectory: data, database: database, now: Date().addingTimeInterval(191 * 86400))
        do {
            try await RetentionRun.restore(item: "\(batchId)/0", dataDirectory: data, database: database)
            XCTFail("an item not recycled cannot be restored")
        } catch let error as RetentionError {
            XCTAssertEqual(error, .notRecycled("\(batchId)/0"))
        }
        do {
            try await RetentionRun.restore(item: "../../etc/0", dataDirectory: data, database: database)
            XCTFail("an unknown item is refused")
        } catch let error as RetentionError {
            XCTAssertEqual(error, .unknownItem("../../etc/0"))
        }
        let purge = try await run(daysFromNow: 198, apply: false)
        XCTAssertFalse(items(purge.deleted).contains("\(batchId)/0"), "restored, it is not deleted with the others")
        XCTAssertTrue(items(purge.recycled).contains("\(batchId)/0"), "still expired, the next run recycles it again")

        let command = try runProgram(builtBinary("fieldgate-server").path, ["retention", "run", "--json", "--data", data.path] + databaseArguments)
        XCTAssertEqual(command.status, 0, command.stderr)
        XCTAssertTrue(command.stdout.contains("\"applied\" : false"), command.stdout)
        let text = try runProgram(builtBinary("fieldgate-server").path, ["retention", "run", "--data", data.path] + databaseArguments)
        XCTAssertTrue(text.stdout.contains("dry run: 0 to recycle"), text.stdout)
    }

    /// An admin restores a recycled item from the console; other roles are refused, a forged form
    /// token is refused, and an item no longer recycled answers 409.
    func testAnAdminRestoresARecycledItemFromTheConsole() async throws {
        try await setUpItems()
        _ = try await run(daysFromNow: 190, apply: true)
        try await ConsoleAccounts.add(name: "adm.wu", role: .admin, password: password, dataDirectory: data, database: database)
        let path = "/console/items/\(batchId)/0"
        var reviewer = CookieJar()
        _ = try await consoleSignIn("rev.he", password, &reviewer)
        let reviewerPage = text(try await visit("GET", path, &reviewer))
        XCTAssertFalse(reviewerPage.contains("/restore\""), "a reviewer is offered no restore")
        let token = try XCTUnwrap(reviewerPage.range(of: "name=\"csrf\" value=\"").map { String(reviewerPage[$0.upperBound...].prefix { $0 != "\"" }) })
        let refused = try await visit("POST", path + "/restore", &reviewer, form: [("csrf", token)])
        XCTAssertEqual(refused.status, 403, "only an admin restores")

        var admin = CookieJar()
        _ = try await consoleSignIn("adm.wu", password, &admin)
        let page = text(try await visit("GET", path, &admin))
        XCTAssertTrue(page.contains("action=\"\(path)/restore\""), page)
        let csrf = try XCTUnwrap(page.range(of: "name=\"csrf\" value=\"").map { String(page[$0.upperBound...].prefix { $0 != "\"" }) })
        let forged = try await visit("POST", path + "/restore", &admin, form: [("csrf", String(csrf.reversed()))])
        XCTAssertEqual(forged.status, 403)
        let retention = text(try await visit("GET", "/console/retention", &admin))
        XCTAssertTrue(retention.contains("action=\"\(path)/restore\""), "the recycle bin offers the restore too")
        let restored = try await visit("POST", path + "/restore", &admin, form: [("csrf", csrf)])
        XCTAssertEqual(restored.status, 303, text(restored))
        let after = text(try await visit("GET", path, &admin))
        let retentionLine = try XCTUnwrap(after.range(of: "<p class=\"retention\">").map { after[$0.upperBound...].prefix { $0 != "<" } })
        XCTAssertFalse(retentionLine.contains("回收状态"), "no longer recycled: \(retentionLine)")
        XCTAssertFalse(after.contains("action=\"\(path)/restore\""))
        XCTAssertTrue(after.contains("restored by adm.wu on the console"), "the restore is on the custody timeline")
        XCTAssertEqual(try storedBlob(Self.sha256(blobs6[0])), blobs6[0])
        let again = try await visit("POST", path + "/restore", &admin, form: [("csrf", csrf)])
        XCTAssertEqual(again.status, 409)
        let log = text(try await visit("GET", "/console/access-log.csv", &admin))
        XCTAssertTrue(log.contains(",adm.wu,") && log.contains(",retention-restored,"), log)
    }
}
