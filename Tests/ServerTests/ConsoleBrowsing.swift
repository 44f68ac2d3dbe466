import AsyncHTTPClient
import Foundation
import NIOCore
import Server
import XCTest

/// One browser's cookies, kept by hand from `Set-Cookie` (a copy is a second browser holding
/// the same cookies, e.g. to replay a session after signing out).
struct CookieJar {
    var cookies: [String: String] = [:]

    mutating func keep(_ answer: HTTPAnswer) {
        for (name, value) in answer.headers where name.lowercased() == "set-cookie" {
            let pair = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { continue }
            if value.lowercased().contains("max-age=0") { cookies[parts[0]] = nil } else { cookies[parts[0]] = parts[1] }
        }
    }

    var header: [(String, String)] {
        cookies.isEmpty ? [] : [("Cookie", cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; "))]
    }
}

/// Requests as a browser on the console makes them: cookies from the jar, forms url-encoded,
/// redirects not followed (so a test sees each 303 and the cookies it sets).
extension ServerTestCase {
    /// A client that never follows redirects, for the life of the test process.
    static let consoleClient = HTTPClient(eventLoopGroupProvider: .singleton,
                                          configuration: .init(redirectConfiguration: .disallow))

    func visit(_ method: String, _ path: String, _ jar: inout CookieJar, form: [(String, String)]? = nil,
               headers: [(String, String)] = [], rawBody: Data? = nil) async throws -> HTTPAnswer {
        var request = HTTPClientRequest(url: running.baseURL + path)
        request.method = .init(rawValue: method)
        for (name, value) in jar.header + headers { request.headers.add(name: name, value: value) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            let text = form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
            request.body = .bytes(ByteBuffer(string: text))
        } else if let rawBody {
            request.body = .bytes(ByteBuffer(data: rawBody))
        }
        let response = try await Self.consoleClient.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 64 << 20)
        let answer = HTTPAnswer(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                body: Data(body.readableBytesView))
        jar.keep(answer)
        return answer
    }

    func text(_ answer: HTTPAnswer) -> String { String(decoding: answer.body, as: UTF8.self) }

    /// Opens the sign-in page and submits it.
    func consoleSignIn(_ name: String, _ password: String, _ jar: inout CookieJar) async throws -> HTTPAnswer {
        let page = try await visit("GET", "/console/sign-in", &jar)
        XCTAssertEqual(page.status, 200)
        let csrf = try XCTUnwrap(jar.cookies[ConsoleCookie.signIn], "the sign-in page sets its form token")
        XCTAssertTrue(text(page).contains("value=\"\(csrf)\""), "the form carries the token its cookie holds")
        return try await visit("POST", "/console/sign-in", &jar, form: [("csrf", csrf), ("name", name), ("password", password)])
    }
}
