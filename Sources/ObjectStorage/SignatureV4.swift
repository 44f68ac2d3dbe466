import Common
import Crypto
import Foundation

/// An access key pair for an S3-compatible store, from the usual environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`), never from
/// a command line, where every user of the machine could read it.
public struct S3Credentials: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The credentials in `environment`; throws naming the variable that is missing.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Credentials {
        guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty else {
            throw ObjectStorageError.configuration("S3 blobs need AWS_ACCESS_KEY_ID (and AWS_SECRET_ACCESS_KEY) in the environment")
        }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw ObjectStorageError.configuration("S3 blobs need AWS_SECRET_ACCESS_KEY in the environment (AWS_ACCESS_KEY_ID is set)")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return S3Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token)
    }
}

/// AWS Signature Version 4 (header form): what `Authorization` and `x-amz-date` a request
/// carries so that the store can check who sent it and that nothing signed was changed.
/// Checked against AWS's published test suite and S3's worked examples (ObjectStorageTests).
public struct SignatureV4: Sendable {
    public let credentials: S3Credentials
    public let region: String
    public let service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty body, which requests without one sign.
    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The headers to add to a request: `x-amz-date`, `x-amz-security-token` when the
    /// credentials have one, and `Authorization`, which signs every header in `headers` (they
    /// must include `host`) and those two.
    /// - Parameters:
    ///   - path: the request's path as the resource is named, not yet percent-encoded (`/bucket/a b`).
    ///   - query: the query's names and values, not yet encoded.
    ///   - payloadSHA256: lower-case hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
    public func signedHeaders(method: String, path: String, query: [(String, String)], headers: [(String, String)],
                              payloadSHA256: String, at date: Date) -> [(String, String)] {
        let stamp = Self.timestamp(date)
        var added = [("x-amz-date", stamp)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let signature = sign(method: method, path: path, query: query, headers: headers + added,
                             payloadSHA256: payloadSHA256, timestamp: stamp)
        return added + [("Authorization", signature.authorization)]
    }

    /// The pieces of one signature, kept apart so the tests can compare each with the suite's.
    struct Signature {
        var canonicalRequest: String
        var stringToSign: String
        var signature: String
        var authorization: String
    }

    func sign(method: String, path: String, query: [(String, String)], headers: [(String, String)],
              payloadSHA256: String, timestamp: String) -> Signature {
        let day = String(timestamp.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        // Header names lower-cased, values trimmed with inner runs of spaces made one, sorted by name;
        // repeated names join their values with commas.
        var canonical: [String: [String]] = [:]
        for (name, value) in headers {
            let squeezed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            canonical[name.lowercased(), default: []].append(squeezed.trimmingCharacters(in: .whitespaces))
        }
        let names = canonical.keys.sorted()
        let signedHeaderNames = names.joined(separator: ";")
        let canonicalHeaders = names.map { "\($0):\(canonical[$0]!.joined(separator: ","))\n" }.joined()
        let encodedQuery: [(name: String, value: String)] = query.map { (Self.encode($0.0), Self.encode($0.1)) }
        let sortedQuery = encodedQuery.sorted { (left, right) -> Bool in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        let canonicalQuery = sortedQuery.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
        let canonicalRequest = [method, Self.encode(path, keepingSlashes: true), canonicalQuery, canonicalHeaders,
                                signedHeaderNames, payloadSHA256].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope,
                            SHA256.hash(data: Data(canonicalRequest.utf8)).hexString].joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).hexString
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope), SignedHeaders=\(signedHeaderNames), Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature, authorization: authorization)
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!, parts.second!)
    }

    /// RFC 3986 percent-encoding as SigV4 wants it: every byte but the unreserved characters
    /// (and `/` in a path) as `%XX`, upper-case.
    public static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlashes:
                encoded.append("/")
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
