import Common
import Foundation
import HTTPTypes
import Hummingbird

/// The console at `/console`: signing in and out, the home page and the people page. Every page
/// is checked against the session's person and role on the server; a session is a cookie only
/// (an `Authorization` header, such as a gateway's credential, opens nothing here), and the
/// gateway API never reads the cookie.
struct ConsoleRoutes: Sendable {
    let context: ServerContext
    var signIn: ConsoleSignIn { context.consoleSignIn }
    var pages: ConsolePages { context.consolePages }
    var accessLog: ConsoleAccessLog { ConsoleAccessLog(repository: context.repository, clock: context.clock.now) }
    /// Entries on one page of the access log.
    static let accessLogPage = 100

    static let sessionCookie = ConsoleCookie.session
    static let signInCookie = ConsoleCookie.signIn
    static let languageCookie = ConsoleCookie.language
    static let path = "/console"
    /// A console form is a few fields; a larger body is refused unread.
    static let formLimit = 8 << 10

    func register(on router: Router<ServerRequestContext>) {
        let console = router.group(RouterPath(Self.path))
        console.get { request, requestContext in try await home(request) }
        console.get("sign-in") { request, requestContext in try await signInPage(request) }
        console.post("sign-in") { request, requestContext in try await submitSignIn(request, requestContext) }
        console.post("sign-out") { request, requestContext in try await submitSignOut(request, address: Self.address(requestContext)) }
        console.get("people") { request, requestContext in try await people(request, address: Self.address(requestContext)) }
        console.get("access-log") { request, requestContext in try await accessLogPage(request, address: Self.address(requestContext)) }
        console.get("access-log.csv") { request, requestContext in try await accessLogCSV(request, address: Self.address(requestContext)) }
        registerEvidence(on: console)
        registerReports(on: console)
        registerSharing(on: console, public: router)
        console.get("static/console.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                     body: .init(byteBuffer: ByteBuffer(string: ConsolePages.stylesheet)))
        }
    }

    // MARK: Pages

    private func home(_ request: Request) async throws -> Response {
        try await page(request, needs: .signIn) { session, user, language in
            html(.ok, pages.render("home", title: ConsoleText.table(language)["home"] ?? "", language: language, user: user,
                                   csrf: session.csrfToken), request: request)
        }
    }

    private func people(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .managePeople) { session, user, language in
            try await accessLog.record(.viewPeople, actor: user.name, address: address, subject: Self.path + "/people")
            let labels = ConsoleText.table(language)
            let rows: [[String: Any]] = try await context.repository.consoleUsers().map { person in
                ["name": person.name, "role": labels["role." + person.role.rawValue] ?? person.role.rawValue,
                 "state": (person.isDisabled ? labels["disabled"] : labels["active"]) ?? "", "created": Timestamp.string(person.createdAt)]
            }
            return html(.ok, pages.render("people", title: labels["people"] ?? "", language: language, user: user, csrf: session.csrfToken,
                                          values: ["people": rows]), request: request)
        }
    }

    /// Runs `build` for a signed-in person whose role allows `permission`; without a session the
    /// browser goes to the sign-in page, with a role that does not allow it the answer is 403.
    func page(_ request: Request, needs permission: ConsolePermission,
                      _ build: (ConsoleSessionRecord, ConsoleUserRecord, ConsoleLanguage) async throws -> Response) async throws -> Response {
        let language = Self.language(of: request)
        guard let (session, user) = try await signedIn(request) else { return redirect(to: Self.path + "/sign-in", request: request) }
        guard user.role.may(permission) else {
            let labels = ConsoleText.table(language)
            return html(.forbidden, pages.render("message", title: "403", language: language, user: user, csrf: session.csrfToken,
                                                 values: ["message": labels["forbidden"] ?? ""]), request: request)
        }
        return try await build(session, user, language)
    }

    // MARK: Signing in and out

    private func signInPage(_ request: Request, status: HTTPResponse.Status = .ok, message: String? = nil, name: String = "",
                            headers: HTTPFields = [:]) async throws -> Response {
        if status == .ok, try await signedIn(request) != nil { return redirect(to: Self.path, request: request) }
        let language = Self.language(of: request)
        let token = ConsoleSignIn.randomToken()
        var values: [String: Any] = ["loginCsrf": token, "name": name]
        if let message { values["message"] = message }
        var response = html(status, pages.render("sign-in", title: ConsoleText.table(language)["signIn"] ?? "", language: language,
                                                 user: nil, csrf: nil, values: values), request: request)
        response.headers.append(contentsOf: headers)
        response.setCookie(Self.cookie(Self.signInCookie, token, maxAge: 900))
        return response
    }

    private func submitSignIn(_ request: Request, _ requestContext: ServerRequestContext) async throws -> Response {
        let labels = ConsoleText.table(Self.language(of: request))
        let form = try await Self.form(request)
        guard Self.isSameOrigin(request), let expected = request.cookies[Self.signInCookie]?.value, let given = form["csrf"],
              ConsoleSignIn.sameSecret(expected, given) else {
            return try await signInPage(request, status: .forbidden, message: labels["formExpired"])
        }
        let name = form["name"] ?? ""
        let address = Self.address(requestContext)
        switch try await signIn.signIn(name: name, password: form["password"] ?? "", address: address) {
        case .signedIn(let token, _, let user):
            try await accessLog.record(.signIn, actor: user.name, address: address, subject: user.name)
            var response = redirect(to: Self.path, request: request)
            response.setCookie(Self.cookie(Self.sessionCookie, token))
            response.setCookie(Self.cookie(Self.signInCookie, "", maxAge: 0))
            return response
        case .refused:
            try await accessLog.record(.signInRefused, actor: "-", address: address, subject: name)
            return try await signInPage(request, status: .unauthorized, message: labels["signInRefused"], name: name)
        case .throttled(let retryAfter):
            try await accessLog.record(.signInThrottled, actor: "-", address: address, subject: name, detail: "retry after \(retryAfter) s")
            return try await signInPage(request, status: .tooManyRequests, message: labels["signInThrottled"], name: name,
                                        headers: [.retryAfter: String(retryAfter)])
        }
    }

    private func submitSignOut(_ request: Request, address: String) async throws -> Response {
        let form = try await Self.form(request)
        guard let (session, user) = try await signedIn(request) else { return redirect(to: Self.path + "/sign-in", request: request) }
        if let refused = refusedForm(request, token: form["csrf"], session, user, Self.language(of: request)) { return refused }
        try await signIn.signOut(session)
        try await accessLog.record(.signOut, actor: user.name, address: address, subject: user.name)
        var response = redirect(to: Self.path + "/sign-in", request: request)
        response.setCookie(Self.cookie(Self.sessionCookie, "", maxAge: 0))
        return response
    }

    private func signedIn(_ request: Request) async throws -> (ConsoleSessionRecord, ConsoleUserRecord)? {
        guard let token = request.cookies[Self.sessionCookie]?.value else { return nil }
        return try await signIn.session(token: token)
    }

    // MARK: The access log

    private func accessLogPage(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .readAccessLog) { session, user, language in
            let labels = ConsoleText.table(language)
            let before = request.uri.queryParameters["before"].flatMap { Int64(String($0)) }
            try await accessLog.record(.viewAccessLog, actor: user.name, address: address, subject: Self.path + "/access-log",
                                       detail: before.map { "before \($0)" } ?? "")
            let events = try await context.repository.latestAccessEvents(before: before, limit: Self.accessLogPage)
            let rows: [[String: Any]] = events.map { event in
                ["seq": String(event.seq), "at": event.at, "actor": event.actor, "address": event.address,
                 "action": labels["action." + event.action.rawValue] ?? event.action.rawValue, "subject": event.subject, "detail": event.detail,
                 "hash": String(event.hash.prefix(12))]
            }
            var values: [String: Any] = ["events": rows]
            if events.count == Self.accessLogPage, let oldest = events.last, oldest.seq > 1 { values["older"] = String(oldest.seq) }
            return html(.ok, pages.render("access-log", title: labels["accessLog"] ?? "", language: language, user: user,
                                          csrf: session.csrfToken, values: values), request: request)
        }
    }

    /// The whole log as CSV (RFC 4180, formula-like fields defused), oldest first, written a page
    /// at a time so a long log is never held in memory.
    private func accessLogCSV(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .readAccessLog) { _, user, _ in
            try await accessLog.record(.exportAccessLog, actor: user.name, address: address, subject: Self.path + "/access-log.csv")
            let repository = context.repository
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: AccessEvent.csvHeader + "\r\n"))
                var after: Int64 = 0
                while true {
                    let page = try await repository.accessEvents(after: after, limit: 1000)
                    guard let last = page.last else { break }
                    try await writer.write(ByteBuffer(string: page.map { $0.csvLine + "\r\n" }.joined()))
                    after = last.seq
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: Self.csvHeaders(fileName: "access-log.csv"), body: body)
        }
    }

    // MARK: HTTP

    static func address(_ requestContext: ServerRequestContext) -> String {
        requestContext.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Secure, HttpOnly and SameSite=Strict, limited to the console's path. (Browsers keep
    /// Secure cookies over HTTPS, and over plain HTTP only from localhost.)
    static func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: path, secure: true, httpOnly: true, sameSite: .strict)
    }

    /// A page with the headers every console answer carries: never cached, never framed, no
    /// script or style from elsewhere.
    func html(_ status: HTTPResponse.Status, _ body: String, request: Request) -> Response {
        var response = Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: body)))
        if let chosen = request.uri.queryParameters["lang"].flatMap({ ConsoleLanguage(rawValue: String($0)) }) {
            response.setCookie(Cookie(name: Self.languageCookie, value: chosen.rawValue, maxAge: 365 * 86400, path: Self.path,
                                      secure: true, httpOnly: true, sameSite: .lax))
        }
        return response
    }

    func redirect(to location: String, request: Request) -> Response {
        var response = html(.seeOther, "", request: request)
        response.headers[.location] = location
        return response
    }

    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    static func language(of request: Request) -> ConsoleLanguage {
        ConsoleLanguage.chosen(query: request.uri.queryParameters["lang"].map(String.init), cookie: request.cookies[languageCookie]?.value)
    }

    /// 403 for a form that does not carry the session's token or was posted from another site;
    /// nil when it may go on.
    func refusedForm(_ request: Request, token given: String?, _ session: ConsoleSessionRecord, _ user: ConsoleUserRecord,
                     _ language: ConsoleLanguage) -> Response? {
        guard !Self.isSameOrigin(request) || !(given.map { ConsoleSignIn.sameSecret(session.csrfToken, $0) } ?? false) else { return nil }
        return html(.forbidden, pages.render("message", title: "403", language: language, user: user, csrf: session.csrfToken,
                                             values: ["message": ConsoleText.table(language)["formExpired"] ?? ""]), request: request)
    }

    /// A form posted from another site carries its own origin: refused whatever else it holds.
    static func isSameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority, let url = URL(string: origin), let originHost = url.host else {
            return false
        }
        let originAuthority = url.port.map { "\(originHost):\($0)" } ?? originHost
        return originAuthority.lowercased() == host.lowercased()
    }

    /// The fields of an `application/x-www-form-urlencoded` body of at most ``formLimit`` bytes
    /// (the first of a repeated name).
    static func form(_ request: Request) async throws -> [String: String] {
        var fields: [String: String] = [:]
        for (key, value) in try await formPairs(request) where fields[key] == nil { fields[key] = value }
        return fields
    }

    /// Every field of the form in order, repeated names included (a share's items).
    static func formPairs(_ request: Request) async throws -> [(String, String)] {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw ServerError(.unsupportedMediaType, "a console form is sent as application/x-www-form-urlencoded")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > formLimit {
            throw ServerError(.contentTooLarge, "a console form has at most \(formLimit) bytes")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: formLimit)
        } catch {
            throw ServerError(.contentTooLarge, "a console form has at most \(formLimit) bytes")
        }
        guard let text = body.getString(at: body.readerIndex, length: body.readableBytes), text.utf8.count == body.readableBytes else {
            throw ServerError.badRequest("the form is not UTF-8")
        }
        var fields: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = parts[0].replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
                  let value = (parts.count > 1 ? String(parts[1]) : "").replacingOccurrences(of: "+", with: " ").removingPercentEncoding else {
                throw ServerError.badRequest("the form's fields are not percent-encoded UTF-8")
            }
            guard !key.contains("\u{0}"), !value.contains("\u{0}") else { throw ServerError.badRequest("the form holds a NUL character") }
            fields.append((key, value))
        }
        return fields
    }
}
