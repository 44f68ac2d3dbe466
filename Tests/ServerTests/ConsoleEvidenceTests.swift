import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// Finding and viewing evidence on the console: search by each field, an item's page with its
/// custody and receipt, its bytes with ranges (as a `<video>` seeks), each step in the access
/// log, and hostile searches and paths.
final class ConsoleEvidenceTests: ServerTestCase {
    private let password = "correct horse battery"
    private var clip = Data(), photo = Data(), printout = Data()
    private var batchId = ""

    /// A gateway's committed batch: a video clip, a photo (other officer, flagged, important) and a printout.
    private func receiptedBatch() async throws {
        let gateway = try await enrol("station-east")
        clip = Self.randomBlob(300_000)
        photo = Self.randomBlob(20_000)
        printout = Self.randomBlob(900)
        let items = [
            item(clip, metadata: ["camera": "CAM-7", "officer": "A-1024", "case": "ZF-2026-0042", "mediaType": "video", "container": "mp4",
                                  "startedAt": "2026-11-20T02:15:00.000Z", "important": "false"]),
            item(photo, metadata: ["camera": "CAM-9", "officer": "B-2048", "mediaType": "photo", "container": "jpeg",
                                   "startedAt": "2026-11-24T09:00:00.000Z", "flags": "marked", "important": "true"]),
            item(printout, kind: "printout", metadata: ["case": "ZF-2026-0042", "document": "D-7", "verificationId": "D-7:0123456789abcdef",
                                                        "printedAt": "2026-11-20T03:00:00.000Z"]),
        ]
        let created = try await postManifest(gateway, items: items)
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        for blob in [clip, photo, printout] { try await upload(gateway, blob) }
        batchId = try created.decode(BatchCreated.self).batchId
        let commit = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(commit.status, 200, commit.errorReason ?? "")
        try await ConsoleAccounts.add(name: "viewer.ma", role: .viewer, password: password, dataDirectory: data, database: database)
    }

    private func found(_ answer: HTTPAnswer) -> Set<String> {
        Set([clip, photo, printout].map(Self.sha256).filter { text(answer).contains(String($0.prefix(12))) })
    }

    func testEachFieldFindsItsItemsAndNothingElse() async throws {
        try await receiptedBatch()
        var jar = CookieJar()
        let anonymous = try await visit("GET", "/console/items?officer=A-1024", &jar)
        XCTAssertEqual(anonymous.status, 303, "searching needs a session")
        _ = try await consoleSignIn("viewer.ma", password, &jar)
        let (clipHash, photoHash, printoutHash) = (Self.sha256(clip), Self.sha256(photo), Self.sha256(printout))
        let cases: [(String, Set<String>)] = [
            ("", [clipHash, photoHash, printoutHash]),
            ("officer=A-1024", [clipHash]),
            ("camera=CAM-9", [photoHash]),
            ("case=ZF-2026-0042", [clipHash, printoutHash]),
            ("gateway=station-east", [clipHash, photoHash, printoutHash]),
            ("gateway=station-west", []),
            ("kind=printout", [printoutHash]),
            ("from=2026-11-21", [photoHash]),
            ("until=2026-11-20", [clipHash, printoutHash]),
            ("from=2026-11-20&until=2026-11-20&kind=recording", [clipHash]),
            ("flagged=1", [photoHash]),
            ("important=1", [photoHash]),
        ]
        for (query, expected) in cases {
            let answer = try await visit("GET", "/console/items?" + query, &jar)
            XCTAssertEqual(answer.status, 200, query)
            XCTAssertEqual(found(answer), expected, query)
        }
    }

    func testHostileSearchesAreRefusedOrFindNothingAndAreNeverExecutedOrEchoedRaw() async throws {
        try await receiptedBatch()
        var jar = CookieJar()
        _ = try await consoleSignIn("viewer.ma", password, &jar)
        let injections = ["' OR '1'='1", "A-1024' --", "\") OR 1=1 --", "A-1024; DROP TABLE batch_item; --"]
        for injection in injections {
            let escaped = injection.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            for field in ["officer", "camera", "case", "gateway"] {
                let answer = try await visit("GET", "/console/items?\(field)=\(escaped)", &jar)
                XCTAssertEqual(answer.status, 200, "\(field)=\(injection)")
                XCTAssertEqual(found(answer), [], "\(field)=\(injection) matches nothing")
            }
        }
        let still = try await visit("GET", "/console/items?officer=A-1024", &jar)
        XCTAssertEqual(found(still), [Self.sha256(clip)], "nothing was dropped")
        let script = try await visit("GET", "/console/items?case=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &jar)
        XCTAssertEqual(script.status, 200)
        XCTAssertFalse(text(script).contains("<script>alert"))
        XCTAssertTrue(text(script).contains("&lt;script&gt;"))
        for (query, reason) in [("officer=" + String(repeating: "x", count: 200), "longer than"), ("from=2026-13-45", "not a day"),
                                ("kind=virus", "not a kind"), ("from=2026-11-25&until=2026-11-20", "ends before"),
                                ("case=a%00b", "control character")] {
            let answer = try await visit("GET", "/console/items?" + query, &jar)
            XCTAssertEqual(answer.status, 400, query)
            XCTAssertTrue(text(answer).contains(reason), "\(query): \(text(answer))")
        }
        let oversized = try await visit("GET", "/console/items?officer=" + String(repeating: "y", count: 100_000), &jar)
        XCTAssertTrue([400, 414, 431].contains(oversized.status), "an oversized query is refused: \(oversized.status)")
    }

    func testAnItemPageShowsItsCustodyAndReceiptAndItsBytesComeInRanges() async throws {
        try await receiptedBatch()
        var jar = CookieJar()
        _ = try await consoleSignIn("viewer.ma", password, &jar)
        let base = "/console/items/\(batchId)/0"
        let page = try await visit("GET", base, &jar)
        XCTAssertEqual(page.status, 200)
        let html = text(page)
        XCTAssertTrue(html.contains("<video controls preload=\"metadata\" src=\"\(base)/content\""), html)
        XCTAssertTrue(html.contains("A-1024") && html.contains("ZF-2026-0042") && html.contains("station-east"), html)
        XCTAssertTrue(html.contains("采集") && html.contains("已签发回执"), "the custody timeline: the gateway's events and the server's receipt")
        XCTAssertTrue(html.contains(Self.sha256(clip)))

        let whole = try await visit("GET", base + "/content", &jar)
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.body, clip)
        XCTAssertEqual(whole.header("Content-Type"), "video/mp4")
        XCTAssertEqual(whole.header("Accept-Ranges"), "bytes")
        let part = try await visit("GET", base + "/content", &jar, headers: [("Range", "bytes=1000-1999")])
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.header("Content-Range"), "bytes 1000-1999/\(clip.count)")
        XCTAssertEqual(part.body, clip[1000..<2000])
        let open = try await visit("GET", base + "/content", &jar, headers: [("Range", "bytes=299000-")])
        XCTAssertEqual(open.body, clip[299_000...])
        let suffix = try await visit("GET", base + "/content", &jar, headers: [("Range", "bytes=-10")])
        XCTAssertEqual(suffix.body, clip.suffix(10))
        let past = try await visit("GET", base + "/content", &jar, headers: [("Range", "bytes=400000-")])
        XCTAssertEqual(past.status, 416)
        XCTAssertEqual(past.header("Content-Range"), "bytes */\(clip.count)")
        // Bytes across the store's pieces (1 MiB) and to the very end.
        let photoPage = try await visit("GET", "/console/items/\(batchId)/1", &jar)
        XCTAssertTrue(text(photoPage).contains("<img src=\"/console/items/\(batchId)/1/content\""))

        let receipt = try await visit("GET", base + "/receipt", &jar)
        XCTAssertEqual(receipt.status, 200)
        let signed = try WireCoding.decoder.decode(SignedEnvelope.self, from: receipt.body)
        XCTAssertFalse(signed.signature.isEmpty)

        for path in ["/console/items/\(batchId)/3", "/console/items/\(batchId)/-1", "/console/items/\(batchId)/99999999999",
                     "/console/items/..%2F..%2Fetc/0", "/console/items/ZZZ/0", "/console/items/\(batchId)/0%00/content",
                     "/console/items/\(String(repeating: "a", count: 200))/0/content"] {
            let answer = try await visit("GET", path, &jar)
            XCTAssertEqual(answer.status, 404, path)
        }
    }

    func testSearchingViewingAndPlayingAreInTheAccessLog() async throws {
        try await receiptedBatch()
        try await ConsoleAccounts.add(name: "audit.lu", role: .auditor, password: password, dataDirectory: data, database: database)
        var viewer = CookieJar(), auditor = CookieJar()
        _ = try await consoleSignIn("viewer.ma", password, &viewer)
        _ = try await visit("GET", "/console/items?officer=A-1024", &viewer)
        _ = try await visit("GET", "/console/items/\(batchId)/0", &viewer)
        _ = try await visit("GET", "/console/items/\(batchId)/0/content", &viewer, headers: [("Range", "bytes=0-99")])
        _ = try await visit("GET", "/console/items/\(batchId)/0/content", &viewer, headers: [("Range", "bytes=100-199")])
        _ = try await visit("GET", "/console/items/\(batchId)/0/receipt", &viewer)
        _ = try await consoleSignIn("audit.lu", password, &auditor)
        let csv = text(try await visit("GET", "/console/access-log.csv", &auditor))
        let rows = csv.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let viewerRows = rows.filter { $0[2] == "viewer.ma" }
        XCTAssertEqual(viewerRows.map { $0[4] }, ["sign-in", "search", "view-item", "play-item", "view-receipt"],
                       "one playback entry for a player's many ranges")
        XCTAssertEqual(viewerRows[1][6], "officer=A-1024")
        XCTAssertEqual(viewerRows[2][5], Self.sha256(clip))
    }
}
