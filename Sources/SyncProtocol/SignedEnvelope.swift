import Common
import Crypto
import Foundation

/// A payload and an Ed25519 signature over its exact bytes. Signing the bytes as sent (not a
/// re-encoding) means neither side has to agree on a canonical JSON form.
public struct SignedEnvelope: Codable, Sendable, Equatable {
    /// The signed JSON document, base64.
    public var payload: String
    /// Ed25519 signature of the payload's bytes, base64.
    public var signature: String

    public init(payload: String, signature: String) {
        self.payload = payload
        self.signature = signature
    }

    /// Encodes `value` and signs it.
    public static func seal<Value: Encodable>(_ value: Value, with key: Curve25519.Signing.PrivateKey) throws -> SignedEnvelope {
        let bytes = try WireCoding.encoder.encode(value)
        let signature = try key.signature(for: bytes)
        return SignedEnvelope(payload: bytes.base64EncodedString(), signature: signature.base64EncodedString())
    }

    /// The payload's bytes, only if the signature verifies with `key`.
    public func openedBytes(verifyingWith key: Curve25519.Signing.PublicKey) throws(EnvelopeError) -> Data {
        guard let bytes = Data(base64Encoded: payload) else { throw .malformed("payload is not base64") }
        guard let signature = Data(base64Encoded: signature) else { throw .malformed("signature is not base64") }
        guard key.isValidSignature(signature, for: bytes) else { throw .badSignature }
        return bytes
    }

    /// The decoded payload, only if the signature verifies with `key`.
    public func open<Value: Decodable>(_ type: Value.Type, verifyingWith key: Curve25519.Signing.PublicKey) throws(EnvelopeError) -> Value {
        let bytes = try openedBytes(verifyingWith: key)
        do {
            return try WireCoding.decoder.decode(type, from: bytes)
        } catch {
            throw .malformed("payload is not a valid \(type): \(error)")
        }
    }
}

public enum EnvelopeError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case badSignature

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed signed document: \(reason)"
        case .badSignature: "signature does not verify against the expected key"
        }
    }
}

/// JSON as both sides write and read it.
public enum WireCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder { JSONDecoder() }

    /// An Ed25519 public key from its base64 raw form.
    public static func publicKey(base64: String) -> Curve25519.Signing.PublicKey? {
        guard let raw = Data(base64Encoded: base64) else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }

    /// Whether `text` is a lower-case hex SHA-256 digest.
    public static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The wire's times are the project's one timestamp format.
    public static let timestampFormat = Timestamp.format
}
