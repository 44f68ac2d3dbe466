import AsyncHTTPClient
import Foundation
import NIOCore
import Server
import TestSupport
import XCTest

/// The access log: every sign-in (refused and throttled ones too), sign-out, page and change of
/// people is an entry with who, what, when and from where; auditors and admins read it and
/// download it as CSV; its hash chain shows any entry changed or removed behind the server.
final class ConsoleAccessLogTests: ServerTestCase {
    private let password = "correct horse battery"

    private func signIn(_ name: String, _ password: String, _ jar: inout CookieJar) async throws -> Int {
        try await consoleSignIn(name, password, &jar).status
    }

    func testSignInsPagesAndChangesArePutInTheLogWhichAuditorsReadAndDownload() async throws {
        try await ConsoleAccounts.add(name: "audit.wu", role: .auditor, password: password, dataDirectory: data, database: database)
        try await ConsoleAccounts.add(name: "viewer.he", role: .viewer, password: password, dataDirectory: data, database: database)
        var auditor = CookieJar(), viewer = CookieJar()
        let refused = try await signIn("audit.wu", "not the password", &auditor)
        XCTAssertEqual(refused, 401)
        let hostileName = "=HYPERLINK(\"http://evil\"),x"
        _ = try await signIn(hostileName, "whatever it is", &auditor)
        let signedIn = try await signIn("audit.wu", password, &auditor)
        XCTAssertEqual(signedIn, 303)
        let viewerIn = try await signIn("viewer.he", password, &viewer)
        XCTAssertEqual(viewerIn, 303)
        let forbidden = try await visit("GET", "/console/access-log", &viewer)
        XCTAssertEqual(forbidden.status, 403, "a viewer does not read the access log")
        let forbiddenCSV = try await visit("GET", "/console/access-log.csv", &viewer)
        XCTAssertEqual(forbiddenCSV.status, 403)

        let page = try await visit("GET", "/console/access-log", &auditor)
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(text(page).contains("登录被拒") && text(page).contains("audit.wu") && text(page).contains("127.0.0.1"), text(page))
        XCTAssertFalse(text(page).contains("\"http://evil\""), "the hostile name is escaped on the page")

        let csv = try await visit("GET", "/console/access-log.csv", &auditor)
        XCTAssertEqual(csv.status, 200)
        let lines = text(csv).split(separator: "\r\n").map(String.init)
        XCTAssertEqual(lines.first, "seq,at,actor,address,action,subject,detail,previous_hash,hash")
        let actions = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }.map { $0[4] }
        XCTAssertEqual(Array(actions.prefix(7)), ["user-added", "user-added", "sign-in-refused", "sign-in-refused", "sign-in", "sign-in", "view-access-log"])
        XCTAssertTrue(actions.contains("export-access-log"))
        XCTAssertTrue(text(csv).contains("\"'=HYPERLINK(\"\"http://evil\"\"),x\""), "a formula-like field is quoted and defused: \(text(csv))")
        let first = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(first[2].hasPrefix("cli:"), "a command's entry names the system user who ran it")
        XCTAssertEqual(first[3], "local")
        XCTAssertEqual(first[7], String(repeating: "0", count: 64))

        try await ConsoleAccounts.disable(name: "viewer.he", dataDirectory: data, database: database)
        let verified = try await ConsoleAccounts.verifyAccessLog(dataDirectory: data, database: database)
        XCTAssertTrue(verified.isIntact, verified.reason ?? "")
        XCTAssertEqual(verified.entries, 9, "2 added, 2 refused, 2 sign-ins, the page, the download, the disabling")
    }

    func testAnEntryChangedOrRemovedBehindTheServerBreaksTheChainAtThatEntry() async throws {
        for index in 1...4 {
            try await ConsoleAccounts.add(name: "person\(index)", role: .viewer, password: password, dataDirectory: data, database: database)
        }
        let whole = try await ConsoleAccounts.verifyAccessLog(dataDirectory: data, database: database)
        XCTAssertEqual(whole, AccessLogVerification(entries: 4, brokenAt: nil, reason: nil))
        try await executeBehindTheServer(sqlite: "UPDATE accessEvent SET subject = 'someone-else' WHERE seq = 2",
                                         postgresql: "UPDATE access_event SET subject = 'someone-else' WHERE seq = 2")
        let changed = try await ConsoleAccounts.verifyAccessLog(dataDirectory: data, database: database)
        XCTAssertEqual(changed.brokenAt, 2)
        XCTAssertTrue(changed.reason?.contains("changed") == true, changed.reason ?? "")

        try await executeBehindTheServer(sqlite: "UPDATE accessEvent SET subject = 'person2' WHERE seq = 2",
                                         postgresql: "UPDATE access_event SET subject = 'person2' WHERE seq = 2")
        try await executeBehindTheServer(sqlite: "DELETE FROM accessEvent WHERE seq = 3", postgresql: "DELETE FROM access_event WHERE seq = 3")
        let removed = try await ConsoleAccounts.verifyAccessLog(dataDirectory: data, database: database)
        XCTAssertEqual(removed.brokenAt, 3)
        XCTAssertTrue(removed.reason?.contains("missing") == true, removed.reason ?? "")

        // The command says so and fails, for a cron job.
        let command = try runProgram(builtBinary("fieldgate-server").path, ["access-log", "verify", "--json", "--data", data.path] + databaseArguments)
        XCTAssertEqual(command.status, 1, command.stderr)
        XCTAssertTrue(command.stdout.contains("\"brokenAt\" : 3"), command.stdout)
    }
}
