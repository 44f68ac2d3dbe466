import Common
import Crypto
import Foundation

/// Secrets a gateway holds (enrolment token, credential) and the hashes the server keeps of them.
enum Credentials {
    /// 32 random bytes in lower-case hex: fits a header, pastes whole, and never starts with "-",
    /// which a command line would take for an option (`fieldgate enroll --token …`).
    static func randomSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }.hexString
    }

    /// Lower-case hex SHA-256 of a secret's UTF-8 bytes: all the server stores of it.
    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).hexString
    }

    /// Compares two hashes without stopping at the first difference, so timing reveals nothing
    /// of the stored value.
    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8), right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
