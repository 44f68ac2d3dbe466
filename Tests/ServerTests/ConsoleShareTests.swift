import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Shares: a reviewer shares chosen items for a while, a recipient without an account opens the
/// link, plays and (when allowed) downloads; do-not-disclose items are never shared; a share
/// ends when revoked or expired; everything through a link is in the access log.
final class ConsoleShareTests: ServerTestCase {
    private let password = "correct horse battery"
    private var clip = Data(), photo = Data(), secret = Data()
    private var batchId = ""

    private func receiptedBatch() async throws {
        let gateway = try await enrol("station-east")
        clip = Self.randomBlob(200_000)
        photo = Self.randomBlob(10_000)
        secret = Self.randomBlob(5_000)
        let items = [
            item(clip, metadata: ["officer": "A-1", "mediaType": "video", "container": "mp4", "startedAt": "2026-11-20T02:15:00.000Z"]),
            item(photo, metadata: ["officer": "A-1", "mediaType": "photo", "container": "jpeg", "startedAt": "2026-11-20T02:20:00.000Z"]),
            item(secret, metadata: ["officer": "A-1", "mediaType": "photo", "container": "jpeg", "startedAt": "2026-11-20T02:25:00.000Z"]),
        ]
        let created = try await postManifest(gateway, items: items)
        for blob in [clip, photo, secret] { try await upload(gateway, blob) }
        batchId = try created.decode(BatchCreated.self).batchId
        let commit = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        try await ConsoleAccounts.add(name: "rev.qi", role: .reviewer, password: password, dataDirectory: data, database: database)
        try await ConsoleAccounts.add(name: "viewer.fu", role: .viewer, password: password, dataDirectory: data, database: database)
    }

    private func csrf(of page: HTTPAnswer) throws -> String {
        let html = text(page)
        let start = try XCTUnwrap(html.range(of: "name=\"csrf\" value=\"")?.upperBound, "the page has a form token")
        return String(html[start...].prefix { $0 != "\"" })
    }

    /// Makes a share of these positions; returns the link the page shows.
    private func share(_ positions: [Int], download: Bool, days: Int = 7, _ jar: inout CookieJar) async throws -> (HTTPAnswer, String?) {
        let search = try await visit("GET", "/console/items?officer=A-1", &jar)
        var form = [("csrf", try csrf(of: search)), ("recipient", "区人民检察院 张检察官"), ("purpose", "审查起诉"), ("days", String(days))]
        form += positions.map { ("item", "\(batchId)/\($0)") }
        if download { form.append(("download", "1")) }
        let answer = try await visit("POST", "/console/shares", &jar, form: form)
        let html = text(answer)
        let link = html.range(of: "value=\"/share/").map { range in "/share/" + String(html[range.upperBound...].prefix { $0 != "\"" }) }
        return (answer, link)
    }

    func testARecipientWithoutAnAccountOpensASharePlaysItAndCannotDownloadWhenBlocked() async throws {
        try await receiptedBatch()
        var reviewer = CookieJar()
        _ = try await consoleSignIn("rev.qi", password, &reviewer)
        let search = try await visit("GET", "/console/items?officer=A-1", &reviewer)
        XCTAssertTrue(text(search).contains("name=\"item\" value=\"\(batchId)/0\""), "results can be chosen for a share")
        let (made, found) = try await share([0, 1], download: false, &reviewer)
        XCTAssertEqual(made.status, 201, text(made))
        let link = try XCTUnwrap(found, text(made))

        var recipient = CookieJar()
        let page = try await visit("GET", link, &recipient)
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(text(page).contains(Self.sha256(clip)) && text(page).contains(Self.sha256(photo)))
        XCTAssertFalse(text(page).contains(Self.sha256(secret)), "only the chosen items")
        XCTAssertTrue(text(page).contains("controlslist=\"nodownload\""))
        XCTAssertFalse(text(page).contains(" download>"), "no download link when downloads are blocked")
        let content = "\(link)/items/\(batchId)/0/content"
        let played = try await visit("GET", content, &recipient, headers: [("Range", "bytes=0-999"), ("Sec-Fetch-Dest", "video")])
        XCTAssertEqual(played.status, 206)
        XCTAssertEqual(played.body, clip.prefix(1000))
        let direct = try await visit("GET", content, &recipient, headers: [("Sec-Fetch-Dest", "document")])
        XCTAssertEqual(direct.status, 403, "opening the bytes directly is a download")
        let notShared = try await visit("GET", "\(link)/items/\(batchId)/2/content", &recipient, headers: [("Sec-Fetch-Dest", "image")])
        XCTAssertEqual(notShared.status, 404, "an item outside the share is unknown through it")
        for hostile in ["/share/../console/people", "/share/\(String(repeating: "A", count: 43))", "/share/%00", "/share/" + String(repeating: "x", count: 500)] {
            let answer = try await visit("GET", hostile, &recipient)
            XCTAssertTrue([404, 303].contains(answer.status), "\(hostile): \(answer.status)")
            XCTAssertFalse(text(answer).contains(Self.sha256(clip)))
        }

        let (allowing, allowingLink) = try await share([1], download: true, &reviewer)
        XCTAssertEqual(allowing.status, 201)
        let whole = try await visit("GET", try XCTUnwrap(allowingLink) + "/items/\(batchId)/1/content", &recipient)
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.body, photo)
    }

    func testWithheldItemsAreNeverSharedAndOnlyReviewersShare() async throws {
        try await receiptedBatch()
        var reviewer = CookieJar(), viewer = CookieJar()
        _ = try await consoleSignIn("rev.qi", password, &reviewer)
        _ = try await consoleSignIn("viewer.fu", password, &viewer)
        let item = "/console/items/\(batchId)/2"
        let token = try csrf(of: try await visit("GET", item, &reviewer))
        let marked = try await visit("POST", item + "/review", &reviewer, form: [("csrf", token), ("withheld", "1")])
        XCTAssertEqual(marked.status, 303)
        let search = try await visit("GET", "/console/items?officer=A-1", &reviewer)
        XCTAssertFalse(text(search).contains("value=\"\(batchId)/2\""), "a withheld item cannot be chosen")
        let (refused, link) = try await share([0, 2], download: true, &reviewer)
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(text(refused).contains("do-not-disclose"), text(refused))
        XCTAssertNil(link)

        let (made, madeLink) = try await share([1], download: true, &reviewer)
        XCTAssertEqual(made.status, 201)
        // Withheld after it was shared: the share no longer shows it.
        let photoToken = try csrf(of: try await visit("GET", "/console/items/\(batchId)/1", &reviewer))
        _ = try await visit("POST", "/console/items/\(batchId)/1/review", &reviewer, form: [("csrf", photoToken), ("withheld", "1")])
        var recipient = CookieJar()
        let page = try await visit("GET", try XCTUnwrap(madeLink), &recipient)
        XCTAssertFalse(text(page).contains(Self.sha256(photo)))
        let bytes = try await visit("GET", try XCTUnwrap(madeLink) + "/items/\(batchId)/1/content", &recipient)
        XCTAssertEqual(bytes.status, 404)

        let viewerSearch = try await visit("GET", "/console/items?officer=A-1", &viewer)
        XCTAssertFalse(text(viewerSearch).contains("name=\"item\""), "a viewer is offered no share")
        let viewerShare = try await visit("POST", "/console/shares", &viewer,
                                          form: [("csrf", try csrf(of: viewerSearch)), ("recipient", "x"), ("days", "7"), ("item", "\(batchId)/0")])
        XCTAssertEqual(viewerShare.status, 403)
        for (days, recipientName) in [("0", "court"), ("91", "court"), ("7", "")] {
            let search = try await visit("GET", "/console/items?officer=A-1", &reviewer)
            let bad = try await visit("POST", "/console/shares", &reviewer,
                                      form: [("csrf", try csrf(of: search)), ("recipient", recipientName), ("days", days), ("item", "\(batchId)/0")])
            XCTAssertEqual(bad.status, 400, "days \(days), recipient \(recipientName)")
        }
    }

    func testAShareEndsWhenRevokedOrExpiredAndEverythingThroughItIsLogged() async throws {
        try await receiptedBatch()
        try await ConsoleAccounts.add(name: "audit.yu", role: .auditor, password: password, dataDirectory: data, database: database)
        var reviewer = CookieJar(), recipient = CookieJar(), auditor = CookieJar()
        _ = try await consoleSignIn("rev.qi", password, &reviewer)
        let (_, first) = try await share([0], download: false, days: 3, &reviewer)
        let (_, second) = try await share([1], download: true, days: 30, &reviewer)
        let expiring = try XCTUnwrap(first), revoking = try XCTUnwrap(second)
        let opened = try await visit("GET", expiring, &recipient)
        XCTAssertEqual(opened.status, 200)
        _ = try await visit("GET", expiring + "/items/\(batchId)/0/content", &recipient, headers: [("Sec-Fetch-Dest", "video"), ("Range", "bytes=0-")])

        let list = try await visit("GET", "/console/shares", &reviewer)
        XCTAssertTrue(text(list).contains("区人民检察院 张检察官"))
        let html = text(list)
        let revokeStart = try XCTUnwrap(html.range(of: "action=\"/console/shares/")?.upperBound)
        let shareId = String(html[revokeStart...].prefix { $0 != "/" })
        let revoked = try await visit("POST", "/console/shares/\(shareId)/revoke", &reviewer, form: [("csrf", try csrf(of: list))])
        XCTAssertEqual(revoked.status, 303)
        // The newest share is listed first: the 30-day one was revoked.
        let gone = try await visit("GET", revoking, &recipient)
        XCTAssertEqual(gone.status, 410)
        XCTAssertTrue(text(gone).contains("撤销"), text(gone))
        let stillOpen = try await visit("GET", expiring, &recipient)
        XCTAssertEqual(stillOpen.status, 200)
        clock.advance(by: 3 * 86400 + 1)
        let expired = try await visit("GET", expiring, &recipient)
        XCTAssertEqual(expired.status, 410)
        XCTAssertTrue(text(expired).contains("过期"), text(expired))
        let expiredBytes = try await visit("GET", expiring + "/items/\(batchId)/0/content", &recipient, headers: [("Sec-Fetch-Dest", "video")])
        XCTAssertEqual(expiredBytes.status, 410)

        _ = try await consoleSignIn("audit.yu", password, &auditor)
        let csv = text(try await visit("GET", "/console/access-log.csv", &auditor))
        let actions = csv.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let shareRows = actions.filter { $0[4].hasPrefix("share-") }
        XCTAssertEqual(shareRows.map { $0[4] }, ["share-created", "share-created", "share-viewed", "share-played", "share-revoked",
                                                  "share-refused", "share-viewed", "share-refused", "share-refused"])
        XCTAssertTrue(shareRows[2][2].hasPrefix("share:"), "a view through a link names the share")
    }
}
