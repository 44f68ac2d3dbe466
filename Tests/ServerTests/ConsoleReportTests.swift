import Foundation
import Server
import SyncProtocol
import TestSupport
import XCTest

/// The monthly report, the A/V ledger and reconciliation, on a clock the test sets: counts per
/// unit and month, what each gateway says it still holds and the share retained online, items
/// docked late, gateways and cameras gone silent; read by role only, every reading logged,
/// hostile parameters refused; a store from before the reports counts its older batches.
final class ConsoleReportTests: ServerTestCase {
    private let password = "correct horse battery"
    /// The items in the order they were recorded: e1, w0, w1, e0, e2, e3 (and w2 in October).
    private var hashes: [String: String] = [:]
    private var east: TestGateway!

    /// Sets the server's clock to 2026-11-20 12:00 UTC.
    private func setClock() {
        let target = Date(timeIntervalSince1970: 1_795_176_000)  // 2026-11-20T12:00:00Z
        clock.advance(by: target.timeIntervalSince(clock.now()))
    }

    private func commit(_ gateway: TestGateway, _ items: [(String, String, [String: String])], createdAt: String,
                        waiting: GatewayBacklog? = nil) async throws {
        let blobs = items.map { _ in Self.randomBlob(2_000) }
        for ((name, _, _), blob) in zip(items, blobs) { hashes[name] = Self.sha256(blob) }
        let created = try await postManifest(gateway, items: zip(items, blobs).map { item($1, kind: $0.1, metadata: $0.2) },
                                             createdAt: createdAt, waiting: waiting)
        XCTAssertEqual(created.status, 201, created.errorReason ?? "")
        for blob in blobs { try await upload(gateway, blob) }
        let batchId = try created.decode(BatchCreated.self).batchId
        let committed = try await send("POST", "/v1/batches/\(batchId)/commit", headers: gateway.bearer)
        XCTAssertEqual(committed.status, 200, committed.errorReason ?? "")
    }

    /// Two units' gateways commit their month; a third gateway is enrolled and never heard from.
    private func setUpMonth() async throws {
        setClock()
        east = try await enrol("station-east")
        let west = try await enrol("station-west")
        _ = try await enrol("station-quiet")
        let one = "一中队", two = "二中队"
        try await commit(east, [
            ("e0", "recording", ["camera": "CAM-E1", "officer": "A-1", "unit": one, "startedAt": "2026-11-20T08:00:00.000Z", "durationSeconds": "600.000"]),
            ("e1", "recording", ["camera": "CAM-E2", "officer": "A-2", "unit": one, "startedAt": "2026-11-16T08:00:00.000Z", "durationSeconds": "300.000",
                                 "flags": "marked"]),
            ("e2", "printout", ["unit": one, "template": "现场检查笔录", "document": "D-1", "printedAt": "2026-11-20T09:00:00.000Z"]),
            ("e3", "fingerprint", ["unit": one, "document": "D-1", "capturedAt": "2026-11-20T09:05:00.000Z"]),
        ], createdAt: "2026-11-20T11:00:00.000Z",
           waiting: GatewayBacklog(items: 3, bytes: 9_000, oldestRecordedAt: "2026-10-30T07:00:00.000Z", byMonth: ["2026-11": 2, "2026-10": 1], unit: one))
        try await commit(west, [
            ("w0", "recording", ["camera": "CAM-W1", "officer": "B-1", "unit": two, "startedAt": "2026-11-19T14:00:00.000Z", "durationSeconds": "1200.000"]),
            ("w1", "printout", ["unit": two, "template": "责令改正通知书", "document": "D-2", "printedAt": "2026-11-19T15:00:00.000Z"]),
            ("w2", "recording", ["camera": "CAM-W2", "officer": "B-1", "unit": two, "startedAt": "2026-10-15T10:00:00.000Z", "durationSeconds": "60.000"]),
        ], createdAt: "2026-11-20T11:30:00.000Z")
        for (name, role) in [("aud.li", ConsoleRole.auditor), ("view.ma", .viewer)] {
            try await ConsoleAccounts.add(name: name, role: role, password: password, dataDirectory: data, database: database)
        }
    }

    private func signedIn(_ name: String) async throws -> CookieJar {
        var jar = CookieJar()
        let answer = try await consoleSignIn(name, password, &jar)
        XCTAssertEqual(answer.status, 303)
        return jar
    }

    /// CSV lines split into fields (no field here holds a comma), the byte-order mark dropped.
    private func csv(_ answer: HTTPAnswer) -> [[String]] {
        var body = text(answer)
        if body.hasPrefix("\u{FEFF}") { body.removeFirst() }
        return body.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testTheMonthlyReportCountsEachUnitsItemsAndWhatItsGatewaysStillHold() async throws {
        try await setUpMonth()
        var jar = try await signedIn("aud.li")
        let november = try await visit("GET", "/console/reports/monthly.csv?month=2026-11", &jar)
        XCTAssertEqual(november.status, 200)
        XCTAssertEqual(november.header("Content-Type"), "text/csv; charset=utf-8")
        XCTAssertEqual(csv(november), [
            ["执法单位", "音像记录 (条)", "时长 (小时)", "打印文书 (份)", "文书：现场检查笔录", "文书：责令改正通知书", "捺印 (次)", "标记", "迟延上传", "已签收", "待上传", "网上留存率"],
            ["一中队", "2", "0.25", "1", "1", "0", "1", "1", "1", "4", "2", "66.67%"],
            ["二中队", "1", "0.33", "1", "0", "1", "0", "0", "0", "2", "0", "100.00%"],
            ["合计", "3", "0.58", "2", "1", "1", "1", "1", "1", "6", "2", "75.00%"],
        ])
        let october = try await visit("GET", "/console/reports/monthly.csv?month=2026-10&lang=en", &jar)
        XCTAssertEqual(csv(october), [
            ["Unit", "Recordings", "Hours", "Printouts", "Fingerprints", "Flagged", "Late", "Receipted", "Waiting", "Retained online"],
            ["一中队", "0", "0.00", "0", "0", "0", "0", "0", "1", "0.00%"],
            ["二中队", "1", "0.02", "0", "0", "0", "1", "1", "0", "100.00%"],
            ["Total", "1", "0.02", "0", "0", "0", "1", "1", "1", "50.00%"],
        ], "each item counts in the month it was recorded, and what a gateway holds of October counts there")

        let page = text(try await visit("GET", "/console/reports?month=2026-11&unit=%E4%BA%8C%E4%B8%AD%E9%98%9F&lang=zh", &jar))
        XCTAssertTrue(page.contains("行政执法行为数据统计月报") && page.contains("二中队") && page.contains("100.00%"), page)
        XCTAssertFalse(page.contains("一中队"), "a unit asked for is the only one shown")
        let printable = text(try await visit("GET", "/console/reports/print?month=2026-11", &jar))
        XCTAssertTrue(printable.contains("66.67%") && printable.contains("审核人"), printable)
        XCTAssertFalse(printable.contains("<nav>"), "the printable page is the report alone")
        let empty = text(try await visit("GET", "/console/reports?month=2025-01", &jar))
        XCTAssertTrue(empty.contains("本月没有记录"), empty)

        let log = text(try await visit("GET", "/console/access-log.csv", &jar))
        for action in ["export-report", "view-report"] { XCTAssertTrue(log.contains(",\(action),"), "\(action) is in the access log") }
        XCTAssertTrue(log.contains("month 2026-11 unit 二中队"))
    }

    func testTheLedgerListsEveryItemOfTheMonthAndUnitInTheOrderRecorded() async throws {
        try await setUpMonth()
        var jar = try await signedIn("aud.li")
        let ledger = try await visit("GET", "/console/reports/ledger.csv?month=2026-11", &jar)
        XCTAssertEqual(ledger.status, 200)
        XCTAssertTrue(ledger.header("Content-Disposition")?.contains("ledger-2026-11.csv") == true)
        let rows = csv(ledger)
        XCTAssertEqual(rows.first?.prefix(4), ["序号", "执法单位", "记录时间", "类型"])
        let shaColumn = try XCTUnwrap(rows.first?.firstIndex(of: "SHA-256"))
        XCTAssertEqual(rows.dropFirst().map { $0[shaColumn] }, ["e1", "w0", "w1", "e0", "e2", "e3"].map { hashes[$0] ?? "" })
        XCTAssertEqual(rows.dropFirst().map { $0[0] }, ["1", "2", "3", "4", "5", "6"])
        XCTAssertEqual(rows[1][1], "一中队")
        XCTAssertEqual(rows[1][2], "2026-11-16T08:00:00.000Z")
        let one = csv(try await visit("GET", "/console/reports/ledger.csv?month=2026-11&unit=%E4%B8%80%E4%B8%AD%E9%98%9F", &jar))
        XCTAssertEqual(one.dropFirst().map { $0[shaColumn] }, ["e1", "e0", "e2", "e3"].map { hashes[$0] ?? "" })
        let october = csv(try await visit("GET", "/console/reports/ledger.csv?month=2026-10", &jar))
        XCTAssertEqual(october.dropFirst().map { $0[shaColumn] }, [hashes["w2"] ?? ""])
        let log = text(try await visit("GET", "/console/access-log.csv", &jar))
        XCTAssertTrue(log.contains(",export-ledger,"))
    }

    func testReconciliationShowsLateItemsSilentGatewaysAndCamerasAndEachGatewaysBacklog() async throws {
        try await setUpMonth()
        // A report the gateway signed before the one kept does not replace it.
        let stale = try await postManifest(east, items: [item(Self.randomBlob(100), metadata: ["camera": "CAM-E1", "unit": "一中队"])],
                                           createdAt: "2026-11-20T10:00:00.000Z",
                                           waiting: GatewayBacklog(items: 99, bytes: 1, oldestRecordedAt: nil, byMonth: ["2026-11": 99], unit: "一中队"))
        XCTAssertEqual(stale.status, 201)
        var jar = try await signedIn("aud.li")
        let page = try await visit("GET", "/console/reconciliation?month=2026-11&days=3", &jar)
        XCTAssertEqual(page.status, 200)
        let html = text(page)
        let late = try XCTUnwrap(html.range(of: "迟延上传 (1)"), "one item of November was late")
        XCTAssertTrue(html[late.upperBound...].contains("CAM-E2") && html.contains("4 天 4 小时"), html)
        XCTAssertFalse(html[late.upperBound...].contains("CAM-W2"), "October's late item is October's")
        XCTAssertTrue(html.contains("station-quiet · 无音讯"), "a gateway never heard from is silent")
        XCTAssertFalse(html.contains("station-east · 无音讯"))
        XCTAssertTrue(html.contains(">3 9 kB<") || html.contains(">3 9 KB<"), "east's kept report: 3 items waiting")
        XCTAssertTrue(html.contains("未报告"), "west never reported a backlog")
        XCTAssertTrue(html.contains("2026-10-30T07:00:00.000Z"), "the oldest waiting item")
        XCTAssertTrue(html.contains("1 (1)"), "east's stale batch is open, with its one item")
        let silentCameras = try XCTUnwrap(html.range(of: "无音讯的记录仪"))
        let cameras = String(html[silentCameras.upperBound..<late.lowerBound])
        XCTAssertTrue(cameras.contains("CAM-E2") && cameras.contains("CAM-W2"), cameras)
        XCTAssertFalse(cameras.contains("CAM-E1") || cameras.contains("CAM-W1"), "cameras that recorded in the last 3 days are not silent")

        clock.advance(by: 5 * 86400)
        jar = try await signedIn("aud.li")
        let later = text(try await visit("GET", "/console/reconciliation?month=2026-11&days=3", &jar))
        XCTAssertTrue(later.contains("station-east · 无音讯") && later.contains("station-west · 无音讯"), "five days on, both are silent")
        let log = text(try await visit("GET", "/console/access-log.csv", &jar))
        XCTAssertTrue(log.contains(",view-reconciliation,"))
    }

    func testOnlyReadersOfReportsOpenThemAndHostileParametersAreRefused() async throws {
        try await setUpMonth()
        var viewer = try await signedIn("view.ma")
        let paths = ["/console/reports", "/console/reports/print", "/console/reports/monthly.csv", "/console/reports/ledger.csv",
                     "/console/reconciliation"]
        for path in paths {
            let answer = try await visit("GET", path, &viewer)
            XCTAssertEqual(answer.status, 403, "a viewer may not open \(path)")
        }
        var anonymous = CookieJar()
        for path in paths {
            let answer = try await visit("GET", path, &anonymous)
            XCTAssertEqual(answer.status, 303, "\(path) needs a session")
        }
        var withCredential = CookieJar()
        let gatewayCredential = try await visit("GET", "/console/reports", &withCredential, headers: east.bearer)
        XCTAssertEqual(gatewayCredential.status, 303, "a gateway's credential opens no console page")

        var auditor = try await signedIn("aud.li")
        for path in paths {
            let answer = try await visit("GET", path, &auditor)
            XCTAssertEqual(answer.status, 200, path)
        }
        for query in ["month=2026-13", "month=..%2F..%2Fetc", "month=2026-1", "month=%272026-11%27%20OR%201%3D1", "unit=a%00b",
                      "unit=" + String(repeating: "u", count: 200)] {
            for path in ["/console/reports", "/console/reports/monthly.csv", "/console/reports/ledger.csv", "/console/reconciliation"] {
                let answer = try await visit("GET", path + "?" + query, &auditor)
                XCTAssertEqual(answer.status, 400, "\(path)?\(query)")
            }
        }
        for days in ["0", "-1", "abc", "99999"] {
            let answer = try await visit("GET", "/console/reconciliation?days=" + days, &auditor)
            XCTAssertEqual(answer.status, 400, "days=\(days)")
        }
        let script = try await visit("GET", "/console/reports?unit=%3Cscript%3Ealert(1)%3C%2Fscript%3E", &auditor)
        XCTAssertEqual(script.status, 200)
        XCTAssertFalse(text(script).contains("<script>alert"))
        let injected = csv(try await visit("GET", "/console/reports/ledger.csv?month=2026-11&unit=%27%20OR%20%271%27%3D%271", &auditor))
        XCTAssertEqual(injected.count, 1, "an injected unit matches nothing: the header alone")
    }

    func testAManifestsBacklogIsCheckedFieldByField() async throws {
        setClock()
        let gateway = try await enrol("station-east")
        let blob = Self.randomBlob(100)
        let cases: [(GatewayBacklog, String)] = [
            (GatewayBacklog(items: -1, bytes: 0, oldestRecordedAt: nil, byMonth: [:]), "negative"),
            (GatewayBacklog(items: 1, bytes: 0, oldestRecordedAt: nil, byMonth: ["../x": 1]), "not a month"),
            (GatewayBacklog(items: 1, bytes: 0, oldestRecordedAt: nil, byMonth: ["2026-13": 1]), "not a month"),
            (GatewayBacklog(items: 1, bytes: 0, oldestRecordedAt: nil, byMonth: ["2026-11": -5]), "negative"),
            (GatewayBacklog(items: 1, bytes: 0, oldestRecordedAt: nil,
                            byMonth: Dictionary(uniqueKeysWithValues: (0..<700).map { (String(format: "%04d-%02d", 1900 + $0 / 12, $0 % 12 + 1), 1) })),
             "at most 600"),
            (GatewayBacklog(items: 1, bytes: 0, oldestRecordedAt: nil, byMonth: [:], unit: "一中队\u{7}"), "control character"),
        ]
        for (backlog, reason) in cases {
            let answer = try await postManifest(gateway, items: [item(blob)], waiting: backlog)
            XCTAssertEqual(answer.status, 400, reason)
            XCTAssertTrue(answer.errorReason?.contains(reason) == true, "\(reason): \(answer.errorReason ?? "")")
        }
        let fine = try await postManifest(gateway, items: [item(blob)], waiting: GatewayBacklog(items: 0, bytes: 0, oldestRecordedAt: nil, byMonth: [:]))
        XCTAssertEqual(fine.status, 201, fine.errorReason ?? "")
    }

    /// A store from before the reports (its batches committed, no counts) counts them as it migrates.
    func testAStoreFromBeforeTheReportsCountsItsOlderBatches() async throws {
        try await setUpMonth()
        try await executeBehindTheServer(sqlite: """
            DROP TABLE reportTally; DROP TABLE cameraSighting; DROP TABLE lateItem; DROP TABLE gatewayBacklog; DROP INDEX batchItem_by_unit;
            DROP INDEX batch_by_gateway_state_and_commit;
            DELETE FROM grdb_migrations WHERE identifier LIKE 'v12:%';
            """, postgresql: """
            DROP TABLE report_tally, camera_sighting, late_item, gateway_backlog; DROP INDEX batch_item_by_unit, batch_by_gateway_state_and_commit;
            DELETE FROM schema_migrations WHERE version = 12;
            """)
        try await restartServer()
        var jar = try await signedIn("aud.li")
        let report = try await visit("GET", "/console/reports/monthly.csv?month=2026-11", &jar)
        XCTAssertEqual(csv(report).last,
                       ["合计", "3", "0.58", "2", "1", "1", "1", "1", "1", "6", "0", "100.00%"],
                       "every committed item is counted again; no gateway has reported a backlog since")
        let html = text(try await visit("GET", "/console/reconciliation?month=2026-11", &jar))
        XCTAssertTrue(html.contains("迟延上传 (1)") && html.contains("CAM-W2"), html)
    }
}
