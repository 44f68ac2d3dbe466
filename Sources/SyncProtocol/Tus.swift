import Crypto
import Foundation

/// The parts of tus 1.0 (tus.io/protocols/resumable-upload) both sides use: header names,
/// `Upload-Metadata` and `Upload-Checksum`.
public enum Tus {
    public static let version = "1.0.0"
    public static let extensions = "creation,creation-with-upload,checksum,termination"
    public static let checksumAlgorithms = "sha1,sha256"
    public static let offsetContentType = "application/offset+octet-stream"
    /// The status a tus server answers when a chunk's checksum does not match.
    public static let checksumMismatchStatus = 460

    public enum Header {
        public static let resumable = "Tus-Resumable"
        public static let version = "Tus-Version"
        public static let extensions = "Tus-Extension"
        public static let maxSize = "Tus-Max-Size"
        public static let checksumAlgorithm = "Tus-Checksum-Algorithm"
        public static let uploadOffset = "Upload-Offset"
        public static let uploadLength = "Upload-Length"
        public static let uploadMetadata = "Upload-Metadata"
        public static let uploadChecksum = "Upload-Checksum"
    }

    /// `key base64(value),key base64(value)`.
    public static func encodeMetadata(_ pairs: [String: String]) -> String {
        pairs.sorted { $0.key < $1.key }
            .map { "\($0.key) \(Data($0.value.utf8).base64EncodedString())" }
            .joined(separator: ",")
    }

    /// Parses `Upload-Metadata`; nil when a key or value is malformed.
    public static func decodeMetadata(_ header: String) -> [String: String]? {
        var result: [String: String] = [:]
        for pair in header.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first.map(String.init), !key.isEmpty, result[key] == nil else { return nil }
            if parts.count == 1 {
                result[key] = ""
                continue
            }
            guard let data = Data(base64Encoded: String(parts[1])), let value = String(data: data, encoding: .utf8) else { return nil }
            result[key] = value
        }
        return result
    }

    /// A checksum algorithm of the checksum extension.
    public enum ChecksumAlgorithm: String, Sendable, CaseIterable {
        case sha1, sha256

        /// The base64 digest of `bytes`.
        public func digest<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
            switch self {
            case .sha1: Data(Insecure.SHA1.hash(data: bytes)).base64EncodedString()
            case .sha256: Data(SHA256.hash(data: bytes)).base64EncodedString()
            }
        }
    }

    /// Parses `Upload-Checksum: <algorithm> <base64>`.
    public static func parseChecksum(_ header: String) -> (algorithm: String, digest: Data)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let digest = Data(base64Encoded: String(parts[1])) else { return nil }
        return (String(parts[0]), digest)
    }
}
