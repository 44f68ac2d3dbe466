import AsyncHTTPClient
import Foundation
import NIOCore
import Server
import TestSupport
import XCTest

/// The console's people and sessions over real HTTP (redirects not followed, cookies kept by
/// hand): signing in and out, roles checked on the server, CSRF, throttling, expiry, disabling,
/// the two kinds of credential kept apart, hostile forms, and the `users` commands.
final class ConsoleSignInTests: ServerTestCase {
    static let password = "correct horse battery"
    /// Opens the sign-in page and submits it.
    private func signIn(_ name: String, _ password: String = password, _ jar: inout CookieJar) async throws -> HTTPAnswer {
        try await consoleSignIn(name, password, &jar)
    }

    private func add(_ name: String, _ role: ConsoleRole) async throws {
        try await ConsoleAccounts.add(name: name, role: role, password: Self.password, dataDirectory: data, database: database)
    }

    /// The session's CSRF token, as the page's sign-out form carries it.
    private func csrf(of page: HTTPAnswer) throws -> String {
        let html = text(page)
        let marker = "name=\"csrf\" value=\""
        let start = try XCTUnwrap(html.range(of: marker)?.upperBound, "the page has a form token")
        return String(html[start...].prefix { $0 != "\"" })
    }

    func testSigningInSetsAStrictHttpOnlySecureCookieAndSigningOutEndsTheSession() async throws {
        try await add("wang.li", .reviewer)
        var jar = CookieJar()
        let before = try await visit("GET", "/console", &jar)
        XCTAssertEqual(before.status, 303)
        XCTAssertEqual(before.header("Location"), "/console/sign-in")

        let wrong = try await signIn("wang.li", "not the password", &jar)
        XCTAssertEqual(wrong.status, 401)
        XCTAssertTrue(text(wrong).contains("用户名或密码错误"), text(wrong))
        XCTAssertNil(jar.cookies[ConsoleCookie.session])
        let unknown = try await signIn("nobody", Self.password, &jar)
        XCTAssertEqual(unknown.status, 401, "an unknown name gets the same answer as a wrong password")

        let signedIn = try await signIn("wang.li", Self.password, &jar)
        XCTAssertEqual(signedIn.status, 303)
        XCTAssertEqual(signedIn.header("Location"), "/console")
        let cookie = try XCTUnwrap(signedIn.headers.first { $0.name.lowercased() == "set-cookie" && $0.value.hasPrefix(ConsoleCookie.session + "=") }?.value)
        for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/console"] {
            XCTAssertTrue(cookie.contains(attribute), "\(attribute) in \(cookie)")
        }
        let home = try await visit("GET", "/console", &jar)
        XCTAssertEqual(home.status, 200)
        XCTAssertTrue(text(home).contains("wang.li") && text(home).contains("审核员"), text(home))
        XCTAssertEqual(home.header("Cache-Control"), "no-store")
        XCTAssertNotNil(home.header("Content-Security-Policy"))
        let english = try await visit("GET", "/console?lang=en", &jar)
        XCTAssertTrue(text(english).contains("Signed in as") && text(english).contains("reviewer"), text(english))

        let token = try csrf(of: home)
        let forged = try await visit("POST", "/console/sign-out", &jar, form: [("csrf", String(token.reversed()))])
        XCTAssertEqual(forged.status, 403, "a sign-out without the session's token is refused")
        let stillIn = try await visit("GET", "/console", &jar)
        XCTAssertEqual(stillIn.status, 200)
        let kept = jar
        let signedOut = try await visit("POST", "/console/sign-out", &jar, form: [("csrf", token)])
        XCTAssertEqual(signedOut.status, 303)
        XCTAssertNil(jar.cookies[ConsoleCookie.session])
        var replay = kept
        let replayed = try await visit("GET", "/console", &replay)
        XCTAssertEqual(replayed.status, 303, "the old cookie opens nothing once signed out")
    }

    func testEachRoleIsCheckedOnTheServerForEveryPage() async throws {
        try await add("admin1", .admin)
        try await add("viewer1", .viewer)
        var viewer = CookieJar(), admin = CookieJar()
        _ = try await signIn("viewer1", Self.password, &viewer)
        let home = try await visit("GET", "/console", &viewer)
        XCTAssertFalse(text(home).contains("/console/people"), "a viewer is not offered the people page")
        let refused = try await visit("GET", "/console/people", &viewer)
        XCTAssertEqual(refused.status, 403)
        XCTAssertFalse(text(refused).contains("admin1"), "nothing of the page leaks")
        _ = try await signIn("admin1", Self.password, &admin)
        let people = try await visit("GET", "/console/people", &admin)
        XCTAssertEqual(people.status, 200)
        XCTAssertTrue(text(people).contains("admin1") && text(people).contains("viewer1") && text(people).contains("查看员"), text(people))
    }

    func testAFormWithoutItsTokenOrFromAnotherSiteIsRefused() async throws {
        try await add("wang", .viewer)
        var jar = CookieJar()
        _ = try await visit("GET", "/console/sign-in", &jar)
        let token = try XCTUnwrap(jar.cookies[ConsoleCookie.signIn])
        var noCookie = CookieJar()
        let withoutCookie = try await visit("POST", "/console/sign-in", &noCookie, form: [("csrf", token), ("name", "wang"), ("password", Self.password)])
        XCTAssertEqual(withoutCookie.status, 403)
        let forged = try await visit("POST", "/console/sign-in", &jar, form: [("csrf", "A" + token.dropFirst()), ("name", "wang"), ("password", Self.password)])
        XCTAssertEqual(forged.status, 403)
        let elsewhere = try await visit("POST", "/console/sign-in", &jar, form: [("csrf", token), ("name", "wang"), ("password", Self.password)],
                                        headers: [("Origin", "https://evil.example")])
        XCTAssertEqual(elsewhere.status, 403, "a form posted from another site is refused even with the token")
        XCTAssertNil(jar.cookies[ConsoleCookie.session])
        _ = try await visit("GET", "/console/sign-in", &jar)
        let fresh = try XCTUnwrap(jar.cookies[ConsoleCookie.signIn])
        let sameSite = try await visit("POST", "/console/sign-in", &jar, form: [("csrf", fresh), ("name", "wang"), ("password", Self.password)],
                                       headers: [("Origin", running.baseURL)])
        XCTAssertEqual(sameSite.status, 303)
    }

    func testRepeatedFailuresMakeTheNameWaitWhateverPasswordComesNext() async throws {
        try await add("zhao", .viewer)
        var jar = CookieJar()
        for _ in 0..<ConsolePolicy.failuresAllowed {
            let wrong = try await signIn("zhao", "guess guess guess", &jar)
            XCTAssertEqual(wrong.status, 401)
        }
        let throttled = try await signIn("zhao", Self.password, &jar)
        XCTAssertEqual(throttled.status, 429)
        XCTAssertNotNil(throttled.header("Retry-After").flatMap(Int.init))
        XCTAssertNil(jar.cookies[ConsoleCookie.session])
        clock.advance(by: ConsolePolicy.throttleWindow + 1)
        let later = try await signIn("zhao", Self.password, &jar)
        XCTAssertEqual(later.status, 303)
    }

    func testDisablingOrANewPasswordEndsSessionsAtOnceAndSessionsExpire() async throws {
        try await add("qian", .viewer)
        try await add("sun", .viewer)
        var qian = CookieJar(), sun = CookieJar()
        _ = try await signIn("qian", Self.password, &qian)
        _ = try await signIn("sun", Self.password, &sun)
        try await ConsoleAccounts.disable(name: "qian", dataDirectory: data, database: database)
        let afterDisable = try await visit("GET", "/console", &qian)
        XCTAssertEqual(afterDisable.status, 303, "the running server sees the disabling on the next request")
        let disabledSignIn = try await signIn("qian", Self.password, &qian)
        XCTAssertEqual(disabledSignIn.status, 401)
        var promoted = CookieJar()
        try await add("li", .viewer)
        _ = try await signIn("li", Self.password, &promoted)
        try await ConsoleAccounts.setRole(name: "li", role: .admin, dataDirectory: data, database: database)
        let afterRole = try await visit("GET", "/console", &promoted)
        XCTAssertEqual(afterRole.status, 303, "a new role ends the sessions of the old one")
        _ = try await signIn("li", Self.password, &promoted)
        let people = try await visit("GET", "/console/people", &promoted)
        XCTAssertEqual(people.status, 200, "the next sign-in has the new role")
        try await ConsoleAccounts.resetPassword(name: "sun", password: "a brand new passphrase", dataDirectory: data, database: database)
        let afterReset = try await visit("GET", "/console", &sun)
        XCTAssertEqual(afterReset.status, 303)
        let oldPassword = try await signIn("sun", Self.password, &sun)
        XCTAssertEqual(oldPassword.status, 401)
        let newPassword = try await signIn("sun", "a brand new passphrase", &sun)
        XCTAssertEqual(newPassword.status, 303)

        // Idle: each request within the idle timeout keeps the session; a longer pause ends it.
        clock.advance(by: ConsolePolicy.idleTimeout - 60)
        let kept = try await visit("GET", "/console", &sun)
        XCTAssertEqual(kept.status, 200)
        clock.advance(by: ConsolePolicy.idleTimeout + 1)
        let idle = try await visit("GET", "/console", &sun)
        XCTAssertEqual(idle.status, 303)
        // Lifetime: however busy, a session ends after it.
        _ = try await signIn("sun", "a brand new passphrase", &sun)
        var elapsed: TimeInterval = 0
        while elapsed < ConsolePolicy.lifetime - ConsolePolicy.idleTimeout {
            clock.advance(by: ConsolePolicy.idleTimeout - 60)
            elapsed += ConsolePolicy.idleTimeout - 60
            let busy = try await visit("GET", "/console", &sun)
            XCTAssertEqual(busy.status, 200)
        }
        clock.advance(by: ConsolePolicy.idleTimeout - 60)
        let expired = try await visit("GET", "/console", &sun)
        XCTAssertEqual(expired.status, 303, "a session ends after its lifetime")
    }

    func testAGatewayCredentialOpensNoConsolePageAndASessionOpensNoGatewayAPI() async throws {
        let gateway = try await enrol("station-1")
        try await add("zhou", .admin)
        var jar = CookieJar()
        let withBearer = try await visit("GET", "/console/people", &jar, headers: gateway.bearer)
        XCTAssertEqual(withBearer.status, 303)
        _ = try await signIn("zhou", Self.password, &jar)
        let api = try await visit("GET", "/v1/batches/anything", &jar)
        XCTAssertEqual(api.status, 401, "the gateway API reads no cookie")
        var hostile = CookieJar(cookies: [ConsoleCookie.session: "../../etc/passwd"])
        let tricked = try await visit("GET", "/console", &hostile)
        XCTAssertEqual(tricked.status, 303)
    }

    func testHostileFormsGetClearErrorsAndNothingIsEchoedUnescaped() async throws {
        var jar = CookieJar()
        _ = try await visit("GET", "/console/sign-in", &jar)
        let token = try XCTUnwrap(jar.cookies[ConsoleCookie.signIn])
        let injected = try await visit("POST", "/console/sign-in", &jar,
                                       form: [("csrf", token), ("name", "<script>alert(1)</script>' OR '1'='1"), ("password", "x")])
        XCTAssertEqual(injected.status, 401)
        XCTAssertFalse(text(injected).contains("<script>alert"), "the name is escaped")
        XCTAssertTrue(text(injected).contains("&lt;script&gt;"), text(injected))
        let huge = try await visit("POST", "/console/sign-in", &jar, form: [("csrf", token), ("name", String(repeating: "x", count: 20_000))])
        XCTAssertEqual(huge.status, 413)
        let json = try await visit("POST", "/console/sign-in", &jar, headers: [("Content-Type", "application/json")], rawBody: Data("{}".utf8))
        XCTAssertEqual(json.status, 415)
        let badEncoding = try await visit("POST", "/console/sign-in", &jar, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                          rawBody: Data("csrf=\(token)&name=%ZZ".utf8))
        XCTAssertEqual(badEncoding.status, 400)
        let nul = try await visit("POST", "/console/sign-in", &jar, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                  rawBody: Data("csrf=\(token)&name=a%00b".utf8))
        XCTAssertEqual(nul.status, 400)
        let notUTF8 = try await visit("POST", "/console/sign-in", &jar, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                      rawBody: Data([0x6E, 0x3D, 0xFF, 0xFE]))
        XCTAssertEqual(notUTF8.status, 400)
    }

    /// `users` with the password on standard input (there is no option for it), checked and
    /// refused when too short; list --json; disable; reset-password.
    func testTheUsersCommandsTakeThePasswordFromStandardInputOnly() throws {
        func users(_ arguments: [String], input: String?) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = builtBinary("fieldgate-server")
            process.arguments = ["users"] + arguments + ["--data", data.path] + databaseArguments
            let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
            try stdin.fileHandleForWriting.close()
            let out = stdout.fileHandleForReading.readDataToEndOfFile(), err = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
        }
        let added = try users(["add", "li.na", "--role", "auditor"], input: Self.password + "\n")
        XCTAssertEqual(added.status, 0, added.stderr)
        let onCommandLine = try users(["add", "bad", "--role", "viewer", "--password", Self.password], input: nil)
        XCTAssertNotEqual(onCommandLine.status, 0, "no option takes a password")
        let short = try users(["add", "short", "--role", "viewer"], input: "tiny\n")
        XCTAssertNotEqual(short.status, 0)
        XCTAssertTrue(short.stderr.contains("at least 10"), short.stderr)
        let noInput = try users(["add", "none", "--role", "viewer"], input: nil)
        XCTAssertNotEqual(noInput.status, 0)
        XCTAssertTrue(noInput.stderr.contains("standard input"), noInput.stderr)
        let badRole = try users(["add", "x", "--role", "superuser"], input: Self.password + "\n")
        XCTAssertNotEqual(badRole.status, 0)
        let hostile = try users(["add", "../etc", "--role", "viewer"], input: Self.password + "\n")
        XCTAssertNotEqual(hostile.status, 0)
        XCTAssertTrue(hostile.stderr.contains("cannot name a console user"), hostile.stderr)
        let duplicate = try users(["add", "li.na", "--role", "viewer"], input: Self.password + "\n")
        XCTAssertNotEqual(duplicate.status, 0)
        XCTAssertTrue(duplicate.stderr.contains("exists already"), duplicate.stderr)

        let listed = try users(["list", "--json"], input: nil)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["li.na"])
        XCTAssertEqual(rows.first?["role"] as? String, "auditor")
        XCTAssertEqual(rows.first?["disabled"] as? Bool, false)
        XCTAssertFalse(listed.stdout.contains("$2"), "no password hash is printed")

        let promoted = try users(["set-role", "li.na", "--role", "reviewer"], input: nil)
        XCTAssertEqual(promoted.status, 0, promoted.stderr)
        let roles = try users(["list", "--json"], input: nil)
        XCTAssertTrue(roles.stdout.contains("\"reviewer\""), roles.stdout)
        let reset = try users(["reset-password", "li.na"], input: "another long passphrase\n")
        XCTAssertEqual(reset.status, 0, reset.stderr)
        let disabled = try users(["disable", "li.na"], input: nil)
        XCTAssertEqual(disabled.status, 0, disabled.stderr)
        let unknown = try users(["disable", "nobody"], input: nil)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("no console user named nobody"), unknown.stderr)
        let after = try users(["list", "--json"], input: nil)
        XCTAssertTrue(after.stdout.contains("\"disabled\" : true") || after.stdout.contains("\"disabled\":true"), after.stdout)
    }
}
