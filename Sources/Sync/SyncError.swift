import Foundation

/// Why a sync or an enrolment stopped. Each case says what to do next.
public enum SyncError: Error, Equatable, CustomStringConvertible {
    case notEnrolled
    case badServerURL(String)
    case badCertificate(String)
    /// The server refused this gateway's credential or token (401).
    case unauthorized(String)
    /// A receipt or an enrolment answer that does not verify: nothing was marked receipted.
    case untrustedServer(String)
    /// The server could not be reached after every retry.
    case unreachable(String)
    /// The server cannot take an upload now (another request holds it, or it keeps refusing
    /// bytes this gateway's own copy proves intact); the reason says what it waits for.
    case retryLater(String)
    /// The server answered something this gateway cannot use.
    case protocolViolation(String)
    case store(String)

    public var description: String {
        switch self {
        case .notEnrolled:
            "this gateway is not enrolled with a server: ask the server's operator for a token (`fieldgate-server gateways add NAME`), then run `fieldgate enroll --server URL --token TOKEN`"
        case .badServerURL(let url):
            "\(url): not an http:// or https:// URL of a fieldgate-server"
        case .badCertificate(let reason):
            reason
        case .unauthorized(let reason):
            "the server refused this gateway: \(reason) (was it revoked? enrol again with a new token)"
        case .untrustedServer(let reason):
            "the server's answer cannot be trusted: \(reason); nothing was marked as receipted (check that the server is the one this gateway enrolled with)"
        case .unreachable(let reason):
            "the server could not be reached: \(reason); nothing is lost, run `fieldgate sync` again later"
        case .retryLater(let reason):
            "\(reason); nothing is lost, run `fieldgate sync` again later"
        case .protocolViolation(let reason):
            "unexpected answer from the server: \(reason)"
        case .store(let reason):
            "evidence store: \(reason)"
        }
    }

    /// Whether a later sync may succeed without anyone changing anything.
    public var isTransient: Bool {
        switch self {
        case .unreachable, .retryLater: true
        default: false
        }
    }
}
