import Foundation
import ObjectStorage

/// Where the server keeps blobs and the bytes of uploads in progress: the data folder (the
/// default, no setup) or a bucket of an S3-compatible store that several instances share.
public enum BlobLocation: Sendable, Equatable {
    /// `blobs/` and `uploads/` in the data folder.
    case dataFolder
    case s3(ObjectStoreLocation)

    /// Reads `--blobs`: nil or empty means the data folder; otherwise `s3://BUCKET[/PREFIX]`,
    /// reached at `endpoint` (`http://HOST:PORT`; AWS's regional endpoint when nil) with the
    /// credentials and region of `environment` (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`), never of the command line.
    public static func parse(_ url: String?, endpoint: String?, partSize: Int? = nil,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> BlobLocation {
        guard let url, !url.isEmpty else {
            if endpoint != nil { throw BlobLocationError("--s3-endpoint needs --blobs s3://BUCKET") }
            if partSize != nil { throw BlobLocationError("--s3-part-size needs --blobs s3://BUCKET") }
            return .dataFolder
        }
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "s3" else {
            throw BlobLocationError("--blobs \(url): give s3://BUCKET or s3://BUCKET/PREFIX (the default, the data folder, needs no --blobs)")
        }
        guard components.user == nil, components.password == nil else {
            throw BlobLocationError("--blobs must not carry credentials (they would show in the process list): put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard let bucket = components.host, ObjectStoreLocation.isBucketName(bucket) else {
            throw BlobLocationError("--blobs \(url): the bucket name must be 3-63 lower-case letters, digits, dots and hyphens")
        }
        var prefix = String(components.path.drop { $0 == "/" })
        guard !prefix.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }), !prefix.contains("\0") else {
            throw BlobLocationError("--blobs \(url): the prefix must not contain . or .. parts")
        }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        let region = environment["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let endpointText = endpoint ?? "https://s3.\(region).amazonaws.com"
        guard let endpointURL = URL(string: endpointText), let scheme = endpointURL.scheme?.lowercased(), scheme == "http" || scheme == "https",
              endpointURL.host?.isEmpty == false, endpointURL.path.isEmpty || endpointURL.path == "/", endpointURL.query == nil else {
            throw BlobLocationError("--s3-endpoint \(endpointText): give http://HOST:PORT or https://HOST:PORT, no path")
        }
        let size = partSize ?? ObjectStoreLocation.defaultPartSize
        guard (ObjectStoreLocation.minimumPartSize...ObjectStoreLocation.maximumPartSize).contains(size) else {
            throw BlobLocationError("--s3-part-size \(size): S3 takes parts of 5 MiB (\(ObjectStoreLocation.minimumPartSize) bytes) to 5 GiB")
        }
        let credentials: S3Credentials
        do {
            credentials = try S3Credentials.fromEnvironment(environment)
        } catch {
            throw BlobLocationError("\(error)")
        }
        return .s3(ObjectStoreLocation(bucket: S3Bucket(endpoint: endpointURL, name: bucket, region: region), prefix: prefix,
                                       credentials: credentials, partSize: size))
    }
}

/// A bucket (and a prefix inside it) of an S3-compatible store, with what reaches it.
public struct ObjectStoreLocation: Sendable, Equatable {
    public var bucket: S3Bucket
    /// Every key the server writes starts with it: "" or a path ending in `/`.
    public var prefix: String
    public var credentials: S3Credentials
    /// The size of an upload's parts (the last may be smaller); raised for an upload that would
    /// otherwise need more than ``maximumParts``.
    public var partSize: Int

    public init(bucket: S3Bucket, prefix: String = "", credentials: S3Credentials, partSize: Int = defaultPartSize) {
        self.bucket = bucket
        self.prefix = prefix
        self.credentials = credentials
        self.partSize = partSize
    }

    /// 8 MiB: one part of each upload in progress is held in memory while it fills.
    public static let defaultPartSize = 8 << 20
    public static let minimumPartSize = 5 << 20
    public static let maximumPartSize = 5 << 30
    /// S3 joins at most 10,000 parts; a little under, so that a rounding never passes it.
    public static let maximumParts: Int64 = 9_990

    /// The part size for an upload of `length` bytes: the configured one, or the smallest whole
    /// MiB that keeps the upload under ``maximumParts`` (a 100 GB recording: 10 MiB parts).
    public func partSize(forLength length: Int64) -> Int {
        let needed = (length + Self.maximumParts - 1) / Self.maximumParts
        let mebibytes = (needed + (1 << 20) - 1) >> 20
        return max(partSize, Int(mebibytes << 20))
    }

    /// `s3://BUCKET/PREFIX` at the endpoint, for messages.
    public var displayURL: String { "s3://\(bucket.name)/\(prefix) at \(bucket.endpoint.absoluteString)" }

    static func isBucketName(_ name: String) -> Bool {
        (3...63).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-") }
            && name.first.map { $0.isLetter || $0.isNumber } == true
    }
}

/// A `--blobs` location that cannot be used; the message says what to give instead.
public struct BlobLocationError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ description: String) { self.description = description }
}
