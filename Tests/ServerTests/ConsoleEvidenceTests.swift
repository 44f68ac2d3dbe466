import Foundation
import GRDB
import Print
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

    /// One value read from the server's database behind its back, in each backend's dialect.
    private func readBehindTheServer(sqlite: String, postgresql: String) async throws -> String {
        if let postgres { return try postgres.cluster.psql(database: postgres.name, postgresql) }
        let database = try DatabaseQueue(path: data.appendingPathComponent("server.sqlite").path)
        return try await database.read { db in try String.fetchOne(db, sql: sqlite) ?? "" }
    }

    /// The session's CSRF token, as a page's forms carry it.
    private func csrf(of page: HTTPAnswer) throws -> String {
        let html = text(page)
        let start = try XCTUnwrap(html.range(of: "name=\"csrf\" value=\"")?.upperBound, "the page has a form token")
        return String(html[start...].prefix { $0 != "\"" })
    }

    func testAReviewerCategorisesAndBindsACaseAsChainedCustodyAndTheWorkListShrinks() async throws {
        try await receiptedBatch()
        try await ConsoleAccounts.add(name: "rev.zhang", role: .reviewer, password: password, dataDirectory: data, database: database)
        var viewer = CookieJar(), reviewer = CookieJar()
        _ = try await consoleSignIn("viewer.ma", password, &viewer)
        _ = try await consoleSignIn("rev.zhang", password, &reviewer)
        let item = "/console/items/\(batchId)/0"

        let viewerWork = try await visit("GET", "/console/work", &viewer)
        XCTAssertEqual(viewerWork.status, 403)
        let viewerPage = try await visit("GET", item, &viewer)
        XCTAssertFalse(text(viewerPage).contains("class=\"review\""), "a viewer is offered no review form")
        let viewerReview = try await visit("POST", item + "/review", &viewer, form: [("csrf", try csrf(of: viewerPage)), ("category", "seizure")])
        XCTAssertEqual(viewerReview.status, 403, "a viewer cannot categorise, whatever the form says")

        let before = try await visit("GET", "/console/work", &reviewer)
        XCTAssertEqual(before.status, 200)
        XCTAssertEqual(found(before).count, 3, "every new item waits, uncategorised and kept")
        let page = try await visit("GET", item, &reviewer)
        XCTAssertTrue(text(page).contains("未分类（保留）"))
        let token = try csrf(of: page)
        for (form, status) in [([("csrf", token), ("category", "shred-after-a-week")], 400), ([("csrf", token), ("case", String(repeating: "9", count: 65))], 400),
                               ([("csrf", String(token.reversed())), ("category", "seizure")], 403)] {
            let refused = try await visit("POST", item + "/review", &reviewer, form: form)
            XCTAssertEqual(refused.status, status, "\(form)")
        }
        let saved = try await visit("POST", item + "/review", &reviewer, form: [("csrf", token), ("category", "seizure"), ("case", "ZF-2026-0099")])
        XCTAssertEqual(saved.status, 303)
        XCTAssertEqual(saved.header("Location"), item)
        let after = text(try await visit("GET", item, &reviewer))
        XCTAssertTrue(after.contains("查封扣押") && after.contains("ZF-2026-0099"), after)
        XCTAssertTrue(after.contains("分类") && after.contains("关联案件") && after.contains("rev.zhang"), "the server's events on the timeline")

        let work = try await visit("GET", "/console/work", &reviewer)
        XCTAssertEqual(found(work), [Self.sha256(photo), Self.sha256(printout)])
        for (query, expected) in [("category=seizure", [Self.sha256(clip)]), ("case=ZF-2026-0099", [Self.sha256(clip)]),
                                  ("case=ZF-2026-0042", [Self.sha256(printout)]), ("category=none", [Self.sha256(photo), Self.sha256(printout)])] {
            let answer = try await visit("GET", "/console/items?" + query, &reviewer)
            XCTAssertEqual(found(answer), Set(expected), query)
        }

        // The server's events continue the gateway's chain: the first names its last link, each the one before.
        let gatewayLast = String(repeating: "a", count: 64)
        let first = try await readBehindTheServer(sqlite: "SELECT previousHash FROM itemEvent WHERE seq = 1",
                                                  postgresql: "SELECT previous_hash FROM item_event WHERE seq = 1")
        XCTAssertEqual(first, gatewayLast)
        let linked = try await readBehindTheServer(
            sqlite: "SELECT count(*) FROM itemEvent second JOIN itemEvent first ON first.seq = 1 AND second.seq = 2 AND second.previousHash = first.hash",
            postgresql: "SELECT count(*) FROM item_event second JOIN item_event first ON first.seq = 1 AND second.seq = 2 AND second.previous_hash = first.hash")
        XCTAssertEqual(linked, "1")

        // Unbinding the case is an event too; saving the same again is none.
        let again = try csrf(of: try await visit("GET", item, &reviewer))
        _ = try await visit("POST", item + "/review", &reviewer, form: [("csrf", again), ("category", "seizure"), ("case", "")])
        _ = try await visit("POST", item + "/review", &reviewer, form: [("csrf", again), ("category", "seizure"), ("case", "")])
        let events = try await readBehindTheServer(sqlite: "SELECT group_concat(kind, ',') FROM (SELECT kind FROM itemEvent ORDER BY seq)",
                                                   postgresql: "SELECT string_agg(kind, ',' ORDER BY seq) FROM item_event")
        XCTAssertEqual(events, "categorised,case-bound,case-unbound")
        let unbound = try await visit("GET", "/console/items?case=ZF-2026-0042", &reviewer)
        XCTAssertEqual(found(unbound), [Self.sha256(clip), Self.sha256(printout)], "unbound, the clip belongs to the gateway's case again")
    }

    /// A printout is shown as the text its ESC/POS bytes print, its QR code checked against the
    /// verification id; a fingerprint (PGM) as a PNG any decoder reads back pixel for pixel;
    /// bytes that are neither are named, never shown as something else.
    func testPaperworkIsShownAsItsPrintedTextAndItsFingerprintImage() async throws {
        let gateway = try await enrol("station-east")
        let id = "D-7:0123456789abcdef"
        let printed = try ESCPOS.encode(lines: [PrintLine("现场检查笔录", bold: true, alignment: .center), PrintLine("当事人：张三"),
                                                PrintLine("地点：人民路 12 号")], qrCode: id, caption: [id])
        let pixels: [UInt8] = (0..<(40 * 30)).map { UInt8(($0 * 7) % 256) }
        let pgm = Array("P5\n# reader: virtual\n40 30\n255\n".utf8) + pixels
        let blobs: [Data] = [Data(printed), Data(printed + [0x0A]), Self.randomBlob(500), Data(pgm), Data(Array("P5\n40 30\n255\n".utf8) + pixels.prefix(10))]
        let items = [
            item(blobs[0], kind: "printout", metadata: ["verificationId": id, "document": "D-7", "printedAt": "2026-11-20T03:00:00.000Z"]),
            item(blobs[1], kind: "printout", metadata: ["verificationId": "D-8:ffffffffffffffff", "printedAt": "2026-11-20T03:01:00.000Z"]),
            item(blobs[2], kind: "printout", metadata: ["verificationId": "D-9:0", "printedAt": "2026-11-20T03:02:00.000Z"]),
            item(blobs[3], kind: "fingerprint", metadata: ["format": "pgm", "width": "40", "height": "30", "capturedAt": "2026-11-20T03:05:00.000Z"]),
            item(blobs[4], kind: "fingerprint", metadata: ["format": "pgm", "capturedAt": "2026-11-20T03:06:00.000Z"]),
        ]
        let created = try await postManifest(gateway, items: items)
        for blob in blobs { try await upload(gateway, blob) }
        let batch = try created.decode(BatchCreated.self).batchId
        let committed = try await send("POST", "/v1/batches/\(batch)/commit", headers: gateway.bearer)
        XCTAssertEqual(committed.status, 200)
        try await ConsoleAccounts.add(name: "viewer.ma", role: .viewer, password: password, dataDirectory: data, database: database)
        var jar = CookieJar()
        _ = try await consoleSignIn("viewer.ma", password, &jar)

        let printout = text(try await visit("GET", "/console/items/\(batch)/0", &jar))
        let shown = try XCTUnwrap(printout.range(of: "<pre class=\"printout\">").map { printout[$0.upperBound...] }?.prefix { $0 != "<" })
        XCTAssertTrue(shown.contains("现场检查笔录") && shown.contains("当事人：张三") && shown.contains("地点：人民路 12 号"), String(shown))
        XCTAssertTrue(shown.contains("[QR] " + id) && shown.contains("cut"), "the QR code and the cut are marked where they came")
        XCTAssertTrue(printout.contains("二维码与核验码一致"), printout)
        let other = text(try await visit("GET", "/console/items/\(batch)/1", &jar))
        XCTAssertTrue(other.contains("二维码与核验码不一致"), "a QR code that does not hold the recorded id is flagged")
        let garbage = try await visit("GET", "/console/items/\(batch)/2", &jar)
        XCTAssertEqual(garbage.status, 200)
        XCTAssertTrue(text(garbage).contains("无法解码此打印件") && !text(garbage).contains("<pre class=\"printout\">"), text(garbage))

        let fingerprint = text(try await visit("GET", "/console/items/\(batch)/3", &jar))
        XCTAssertTrue(fingerprint.contains("<img src=\"/console/items/\(batch)/3/image.png\""), fingerprint)
        let image = try await visit("GET", "/console/items/\(batch)/3/image.png", &jar)
        XCTAssertEqual(image.status, 200)
        XCTAssertEqual(image.header("Content-Type"), "image/png")
        let file = try temporaryFolder(self).appendingPathComponent("fingerprint.png")
        try image.body.write(to: file)
        // Read back by Python's own zlib and CRC, independent of the encoder.
        let check = try runProgram("/usr/bin/python3", ["-c", """
            import struct, sys, zlib
            data = open(sys.argv[1], 'rb').read()
            assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
            at, idat, size = 8, b'', None
            while at < len(data):
                length, kind = struct.unpack('>I4s', data[at:at + 8]); body = data[at + 8:at + 8 + length]
                assert struct.unpack('>I', data[at + 8 + length:at + 12 + length])[0] == zlib.crc32(kind + body), kind
                if kind == b'IHDR': size = struct.unpack('>IIBBBBB', body)
                if kind == b'IDAT': idat += body
                at += 12 + length
            width, height, depth, colour = size[:4]
            raw = zlib.decompress(idat)
            rows = [raw[r * (width + 1):(r + 1) * (width + 1)] for r in range(height)]
            assert all(row[0] == 0 for row in rows)
            sys.stdout.write(f"{width}x{height} {depth} {colour} " + b''.join(row[1:] for row in rows).hex())
            """, file.path])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertEqual(check.stdout, "40x30 8 0 " + pixels.map { String(format: "%02x", $0) }.joined())
        let short = try await visit("GET", "/console/items/\(batch)/4/image.png", &jar)
        XCTAssertEqual(short.status, 422)
        XCTAssertTrue(text(short).contains("pixel bytes"), text(short))
        let notAFingerprint = try await visit("GET", "/console/items/\(batch)/0/image.png", &jar)
        XCTAssertEqual(notAFingerprint.status, 404, "a printout has no fingerprint image")
    }
}
