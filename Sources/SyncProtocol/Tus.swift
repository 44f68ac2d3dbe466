import CChecksum
import Crypto
import Foundation

/// The parts of tus 1.0 (tus.io/protocols/resumable-upload) both sides use: header names,
/// `Upload-Metadata` and `Upload-Checksum`.
public enum Tus {
    public static let version = "1.0.0"
    public static let extensions = "creation,creation-with-upload,checksum,termination"
    /// In the order a client should prefer them: CRC-32C costs a fraction of a hash per byte, and
    /// the chunk checksum guards only the transport (the whole blob's SHA-256 is the proof).
    public static let checksumAlgorithms = "crc32c,sha1,sha256"
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
        /// CRC-32C, its 4 bytes big-endian (as Google Cloud Storage and tus servers write it).
        case crc32c
        case sha1, sha256

        /// The base64 digest of `bytes`.
        public func digest<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
            var checksum = ChunkChecksum(self)
            for region in bytes.regions { region.withUnsafeBytes { checksum.update($0) } }
            return checksum.finalize().base64EncodedString()
        }

        /// The first of `preferred` that a server's `Tus-Checksum-Algorithm` lists; SHA-1 when the
        /// header is missing (every tus server with the checksum extension has it).
        public static func chosen(from header: String?, preferred: [ChecksumAlgorithm] = [.crc32c, .sha1, .sha256]) -> ChecksumAlgorithm {
            let offered = Set((header ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
            return preferred.first { offered.contains($0.rawValue) } ?? .sha1
        }
    }

    /// Parses `Upload-Checksum: <algorithm> <base64>`.
    public static func parseChecksum(_ header: String) -> (algorithm: String, digest: Data)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, let digest = Data(base64Encoded: String(parts[1])) else { return nil }
        return (String(parts[0]), digest)
    }
}

/// A chunk's running checksum for `Upload-Checksum`, fed as the bytes go by.
public struct ChunkChecksum {
    public let algorithm: Tus.ChecksumAlgorithm
    private var crc: UInt32 = 0
    private var sha1: Insecure.SHA1?
    private var sha256: SHA256?

    public init(_ algorithm: Tus.ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32c: break
        case .sha1: sha1 = Insecure.SHA1()
        case .sha256: sha256 = SHA256()
        }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32c: crc = fieldgate_crc32c(crc, bytes.baseAddress, bytes.count)
        case .sha1: sha1?.update(bufferPointer: bytes)
        case .sha256: sha256?.update(bufferPointer: bytes)
        }
    }

    public func finalize() -> Data {
        switch algorithm {
        case .crc32c: Data([UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
        case .sha1: sha1.map { Data($0.finalize()) } ?? Data()
        case .sha256: sha256.map { Data($0.finalize()) } ?? Data()
        }
    }

    /// `Upload-Checksum`'s value: "<algorithm> <base64 digest>".
    public var headerValue: String { algorithm.rawValue + " " + finalize().base64EncodedString() }
}
