import Common
import Crypto
import Foundation

/// Ed25519 public keys as OpenSSL reads them: SubjectPublicKeyInfo in PEM.
public enum PublicKeyPEM {
    /// The DER of an Ed25519 SubjectPublicKeyInfo is this fixed prefix (RFC 8410: SEQUENCE,
    /// AlgorithmIdentifier id-Ed25519, BIT STRING of 32 bytes) followed by the raw key.
    static let ed25519Prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    static func der(_ key: Curve25519.Signing.PublicKey) -> Data {
        Data(ed25519Prefix) + key.rawRepresentation
    }

    static func pem(_ key: Curve25519.Signing.PublicKey) -> Data {
        Data("-----BEGIN PUBLIC KEY-----\n\(der(key).base64EncodedString())\n-----END PUBLIC KEY-----\n".utf8)
    }

    /// What `openssl pkey -pubin -in K.pem -outform DER | sha256sum` prints: the key's fingerprint.
    public static func fingerprint(_ key: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: der(key)).hexString
    }
}
