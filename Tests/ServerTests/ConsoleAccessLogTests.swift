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
    private var browser: HTTPClient!
    private let password = "correct horse battery"

    override func setUp() async throws {
        try await super.setUp()
        browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    }

    override func tearDown() async throws {
        try await browser?.shutdown()
        try await super.tearDown()
    }

    /// GET or a form POST with this browser's cookies, keeping the ones it sets.
    private func visit(_ method: String, _ path: String, _ cookies: inout [String: String], form: [(String, String)]? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: running.baseURL + path)
        request.method = .init(rawValue: method)
        if !cookies.isEmpty { request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            request.body = .bytes(ByteBuffer(string: form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
                .joined(separator: "&")))
        }
        let response = try await browser.execute(request, timeout: .seconds(60))
        for value in response.headers["Set-Cookie"] {
            let pair = value.split(separator: ";").first.map(String.init) ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            if parts.count == 2 { cookies[parts[0]] = value.contains("Max-Age=0") ? nil : parts[1] }
        }
        let body = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    private func signIn(_ name: String, _ password: String, _ cookies: inout [String: String]) async throws -> Int {
        _ = try await visit("GET", "/console/sign-in", &cookies)
        let token = try XCTUnwrap(cookies[ConsoleCookie.signIn])
        return try await visit("POST", "/console/sign-in", &cookies, form: [("csrf", token), ("name", name), ("password", password)]).status
    }

    private func csvRows(_ text: String) -> [[String]] {
        // The fields these tests write hold no quotes or commas except where checked by hand.
        text.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    func testSignInsPagesAndChangesArePutInTheLogWhichAuditorsReadAndDownload() async throws {
        try await ConsoleAccounts.add(name: "audit.wu", role: .auditor, password: password, dataDirectory: data, database: database)
        try await ConsoleAccounts.add(name: "viewer.he", role: .viewer, password: password, dataDirectory: data, database: database)
        var auditor: [String: String] = [:], viewer: [String: String] = [:]
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
        XCTAssertTrue(page.body.contains("登录被拒") && page.body.contains("audit.wu") && page.body.contains("127.0.0.1"), page.body)
        XCTAssertFalse(page.body.contains("\"http://evil\""), "the hostile name is escaped on the page")

        let csv = try await visit("GET", "/console/access-log.csv", &auditor)
        XCTAssertEqual(csv.status, 200)
        let lines = csv.body.split(separator: "\r\n").map(String.init)
        XCTAssertEqual(lines.first, "seq,at,actor,address,action,subject,detail,previous_hash,hash")
        let actions = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }.map { $0[4] }
        XCTAssertEqual(Array(actions.prefix(7)), ["user-added", "user-added", "sign-in-refused", "sign-in-refused", "sign-in", "sign-in", "view-access-log"])
        XCTAssertTrue(actions.contains("export-access-log"))
        XCTAssertTrue(csv.body.contains("\"'=HYPERLINK(\"\"http://evil\"\"),x\""), "a formula-like field is quoted and defused: \(csv.body)")
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
