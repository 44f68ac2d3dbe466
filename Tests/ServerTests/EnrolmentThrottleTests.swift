import Crypto
import Foundation
import Server
import SyncProtocol
import XCTest

/// Failed enrolments are throttled per client address: guessing tokens at speed is refused.
final class EnrolmentThrottleTests: ServerTestCase {
    private func tryEnrol(_ token: String) async throws -> HTTPAnswer {
        try await sendJSON("POST", "/v1/enroll", EnrollRequest(
            token: token, publicKey: Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()))
    }

    func testTenFailuresInAMinuteThrottleTheAddressWithoutSpendingARealToken() async throws {
        let token = try await GatewayAdministration.add(name: "g1", dataDirectory: data, database: database)
        for guess in 0..<10 {
            let answer = try await tryEnrol(String(format: "%064x", guess))
            XCTAssertEqual(answer.status, 401, "guess \(guess): \(answer.errorReason ?? "")")
        }
        let throttled = try await tryEnrol(String(repeating: "f", count: 64))
        XCTAssertEqual(throttled.status, 429, throttled.errorReason ?? "")
        let retryAfter = try XCTUnwrap(throttled.header("Retry-After").flatMap(Int.init))
        XCTAssertTrue((1...60).contains(retryAfter), "\(retryAfter)")
        XCTAssertTrue(throttled.errorReason?.contains("too many failed enrolments") == true, throttled.errorReason ?? "")
        // Even the right token waits, and is not spent meanwhile.
        let right = try await tryEnrol(token)
        XCTAssertEqual(right.status, 429)
        let gateways = try await GatewayAdministration.list(dataDirectory: data, database: database)
        XCTAssertEqual(gateways.map(\.state), [.invited])
    }
}
