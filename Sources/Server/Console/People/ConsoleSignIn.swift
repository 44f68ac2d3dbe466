import Common
import Crypto
import Foundation
import HummingbirdBcrypt

/// Signing in and out, and which person a request's session cookie stands for. Sessions end
/// after ``idleTimeout`` without a request, after ``lifetime`` in any case, when the person is
/// disabled or their password reset, and on signing out.
struct ConsoleSignIn: Sendable {
    let repository: any EvidenceRepository
    let clock: ServerClock
    /// Failed sign-ins per name and per address: past ``failuresAllowed`` in ``throttleWindow``
    /// both wait (429), whatever password comes next.
    let throttle: EnrolmentThrottle

    static var idleTimeout: TimeInterval { ConsolePolicy.idleTimeout }
    static var lifetime: TimeInterval { ConsolePolicy.lifetime }
    static var failuresAllowed: Int { ConsolePolicy.failuresAllowed }
    static var throttleWindow: TimeInterval { ConsolePolicy.throttleWindow }
    /// A session's last-seen time is written at most this often, not on every request.
    static let touchInterval: TimeInterval = 60

    init(repository: any EvidenceRepository, clock: ServerClock) {
        self.repository = repository
        self.clock = clock
        throttle = EnrolmentThrottle(limit: Self.failuresAllowed, window: Self.throttleWindow, clock: clock.now)
    }

    enum Outcome: Sendable {
        /// `token` goes into the cookie; the session row keeps only its hash.
        case signedIn(token: String, session: ConsoleSessionRecord, user: ConsoleUserRecord)
        /// Unknown name, wrong password or disabled user: one answer for all, so none is revealed.
        case refused
        case throttled(retryAfter: Int)
    }

    /// A hash to check against when the name is unknown, so that an unknown name takes as long as a wrong password.
    private static let decoyHash = Bcrypt.hash("fieldgate decoy password", cost: ConsoleAccounts.bcryptCost)

    func signIn(name: String, password: String, address: String) async throws -> Outcome {
        let keys = ["name:" + name, "address:" + address]
        if let wait = keys.compactMap(throttle.wait(for:)).max() { return .throttled(retryAfter: Int(wait.rounded(.up))) }
        let user = try await repository.consoleUser(name: name)
        let hash = user?.passwordHash ?? Self.decoyHash
        let matches = try await BlockingIO.run { Bcrypt.verify(password, hash: hash) }
        guard let user, matches, !user.isDisabled else {
            keys.forEach(throttle.recordFailure(from:))
            return .refused
        }
        let token = Self.randomToken()
        let now = clock.now()
        let session = ConsoleSessionRecord(tokenHash: Self.tokenHash(token), userId: user.id, csrfToken: Self.randomToken(),
                                           createdAt: now, lastSeenAt: now, address: address)
        try await repository.createConsoleSession(session)
        return .signedIn(token: token, session: session, user: user)
    }

    /// The live session a cookie's token opens, with its person; nil (and the session gone) when
    /// it expired or the person was disabled.
    func session(token: String) async throws -> (session: ConsoleSessionRecord, user: ConsoleUserRecord)? {
        guard Self.isWellFormedToken(token) else { return nil }
        let tokenHash = Self.tokenHash(token)
        guard let (session, user) = try await repository.consoleSession(tokenHash: tokenHash) else { return nil }
        let now = clock.now()
        guard !user.isDisabled, now.timeIntervalSince(session.lastSeenAt) < Self.idleTimeout,
              now.timeIntervalSince(session.createdAt) < Self.lifetime else {
            try await repository.deleteConsoleSession(tokenHash: tokenHash)
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) >= Self.touchInterval {
            try await repository.touchConsoleSession(tokenHash: tokenHash, at: now)
        }
        return (session, user)
    }

    func signOut(_ session: ConsoleSessionRecord) async throws {
        try await repository.deleteConsoleSession(tokenHash: session.tokenHash)
    }

    /// 32 random bytes, URL-safe base64 without padding: a cookie value and a form field as they are.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func isWellFormedToken(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    static func tokenHash(_ token: String) -> String { SHA256.hash(data: Data(token.utf8)).hexString }

    /// Compares two secrets in time that does not depend on where they differ.
    static func sameSecret(_ left: String, _ right: String) -> Bool {
        let left = Array(left.utf8), right = Array(right.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// How long console sessions live and how many failed sign-ins are allowed.
public enum ConsolePolicy {
    /// A session unused this long ends.
    public static let idleTimeout: TimeInterval = 30 * 60
    /// A session ends this long after signing in, however busy.
    public static let lifetime: TimeInterval = 12 * 3600
    /// Failed sign-ins a name or an address may make in ``throttleWindow`` before it waits.
    public static let failuresAllowed = 5
    public static let throttleWindow: TimeInterval = 15 * 60
}

/// The console's cookies, all `Path=/console`, HttpOnly, Secure.
public enum ConsoleCookie {
    /// The session's random token (SameSite=Strict).
    public static let session = "fieldgate_console"
    /// The sign-in form's own CSRF token, before there is a session (double-submitted).
    public static let signIn = "fieldgate_console_sign_in"
    /// The chosen language (SameSite=Lax).
    public static let language = "fieldgate_lang"
}
