import AsyncHTTPClient
import Common
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A bucket of an S3-compatible store, reached path-style (`http://HOST:PORT/BUCKET/KEY`), as
/// SeaweedFS, MinIO, Ceph and AWS all understand.
public struct S3Bucket: Sendable, Equatable {
    /// `http://HOST:PORT` or `https://HOST:PORT`, no path.
    public var endpoint: URL
    public var name: String
    public var region: String

    public init(endpoint: URL, name: String, region: String) {
        self.endpoint = endpoint
        self.name = name
        self.region = region
    }
}

/// One stored part of a multipart upload.
public struct S3Part: Sendable, Equatable {
    public var number: Int
    public var etag: String
    public var size: Int64

    public init(number: Int, etag: String, size: Int64) {
        self.number = number
        self.etag = etag
        self.size = size
    }
}

/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var lastModified: Date?
}

/// A multipart upload begun and neither completed nor aborted.
public struct S3MultipartUpload: Sendable, Equatable {
    public var key: String
    public var uploadId: String
    public var initiated: Date?
}

/// The S3 calls the evidence server needs, signed with SigV4 and sent with AsyncHTTPClient. No
/// AWS SDK: objects, ranged reads, multipart uploads, server-side copies and listings.
public final class S3Client: Sendable {
    public let bucket: S3Bucket
    let signer: SignatureV4
    let http: HTTPClient
    /// How long a call that moves bytes (a part, an object, a copy) may take, body included.
    let timeout: TimeAmount
    /// How long any other call may take. A store that does not answer is retried by the HTTP
    /// client until then, so this is also how long an outage takes to be reported.
    let shortTimeout: TimeAmount

    /// The largest object a single copy may make; past it the copy goes part by part (S3's limit).
    public static let singleCopyLimit: Int64 = 5 << 30
    /// Answers read whole (XML, ranged reads) stop here.
    static let answerLimit = 1 << 30

    public init(bucket: S3Bucket, credentials: S3Credentials, http: HTTPClient = .shared, timeout: TimeAmount = .minutes(10),
                shortTimeout: TimeAmount = .seconds(20)) {
        self.bucket = bucket
        signer = SignatureV4(credentials: credentials, region: bucket.region, service: "s3")
        self.http = http
        self.timeout = timeout
        self.shortTimeout = min(shortTimeout, timeout)
    }

    // MARK: Bucket

    /// Creates the bucket; one that exists already and is ours is fine.
    public func createBucketIfMissing() async throws {
        let answer = try await send("CreateBucket", .PUT, key: nil, accepting: [200, 409])
        if answer.status == 409, answer.code != "BucketAlreadyOwnedByYou" && answer.code != "BucketAlreadyExists" {
            throw answer.error("CreateBucket")
        }
    }

    // MARK: Objects

    /// The object's size, or nil when there is no such object.
    public func size(of key: String) async throws -> Int64? {
        let answer = try await send("HeadObject \(key)", .HEAD, key: key, accepting: [200, 404])
        guard answer.status == 200 else { return nil }
        guard let length = answer.headers.first(name: "content-length").flatMap(Int64.init) else {
            throw ObjectStorageError.malformedAnswer(operation: "HeadObject \(key)", reason: "no Content-Length")
        }
        return length
    }

    public func put(_ key: String, _ body: ByteBuffer) async throws {
        _ = try await send("PutObject \(key)", .PUT, key: key, body: body)
    }

    /// The object's bytes (or the bytes of `range`), nil when there is no such object.
    public func get(_ key: String, range: ClosedRange<Int64>? = nil) async throws -> ByteBuffer? {
        var headers: [(String, String)] = []
        if let range { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let answer = try await send("GetObject \(key)", .GET, key: key, headers: headers, accepting: [200, 206, 404], movingBytes: true)
        return answer.status == 404 ? nil : answer.body
    }

    /// Streams the object's bytes (or `range`'s) to `each`, in the order they arrive; false when
    /// there is no such object. Memory stays at one network buffer, whatever the size.
    public func download(_ key: String, range: ClosedRange<Int64>? = nil,
                         _ each: (ByteBuffer) async throws -> Void) async throws -> Bool {
        var headers: [(String, String)] = []
        if let range { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let operation = "GetObject \(key)"
        let request = makeRequest(.GET, key: key, query: [], headers: headers, payloadSHA256: SignatureV4.emptyPayloadSHA256)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw ObjectStorageError.unreachable(operation: operation, reason: "\(error)")
        }
        let status = Int(response.status.code)
        guard status == 200 || status == 206 else {
            let body = try? await response.body.collect(upTo: 1 << 20)
            let answer = Answer(status: status, headers: response.headers, body: body ?? ByteBuffer())
            if status == 404 { return false }
            throw answer.error(operation)
        }
        do {
            for try await buffer in response.body { try await each(buffer) }
        } catch let error as ObjectStorageError {
            throw error
        } catch {
            throw ObjectStorageError.unreachable(operation: operation, reason: "the body broke off: \(error)")
        }
        return true
    }

    /// The SHA-256 (lower-case hex) and size of the object, read through once; nil when absent.
    public func sha256(of key: String) async throws -> (sha256: String, size: Int64)? {
        var hasher = SHA256()
        var size: Int64 = 0
        let found = try await download(key) { buffer in
            buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            size += Int64(buffer.readableBytes)
        }
        return found ? (hasher.finalize().hexString, size) : nil
    }

    /// Deletes the object; one that is absent already is fine.
    public func delete(_ key: String) async throws {
        _ = try await send("DeleteObject \(key)", .DELETE, key: key, accepting: [200, 204, 404])
    }

    /// A server-side copy of `source` (of `size` bytes) to `destination`, in one call up to 5 GiB
    /// and part by part (`partSize` each) beyond.
    public func copy(_ source: String, size: Int64, to destination: String, partSize: Int64) async throws {
        let copySource = "/" + SignatureV4.encode(bucket.name + "/" + source, keepingSlashes: true)
        if size <= Self.singleCopyLimit {
            let answer = try await send("CopyObject \(source) to \(destination)", .PUT, key: destination,
                                        headers: [("x-amz-copy-source", copySource)], movingBytes: true)
            // A copy can fail after its 200 has been sent: the error is then in the body.
            if answer.text.contains("<Error") {
                throw answer.error("CopyObject \(source) to \(destination)")
            }
            return
        }
        let uploadId = try await createMultipartUpload(destination)
        do {
            var parts: [S3Part] = []
            var start: Int64 = 0
            while start < size {
                let end = min(size, start + partSize) - 1
                let number = parts.count + 1
                let answer = try await send("UploadPartCopy \(destination) #\(number)", .PUT, key: destination,
                                            query: [("partNumber", String(number)), ("uploadId", uploadId)],
                                            headers: [("x-amz-copy-source", copySource), ("x-amz-copy-source-range", "bytes=\(start)-\(end)")],
                                            movingBytes: true)
                guard let etag = S3XML.value("ETag", in: answer.text[...]) else {
                    throw answer.text.contains("<Error") ? answer.error("UploadPartCopy \(destination)")
                        : ObjectStorageError.malformedAnswer(operation: "UploadPartCopy \(destination)", reason: "no ETag")
                }
                parts.append(S3Part(number: number, etag: etag, size: end - start + 1))
                start = end + 1
            }
            try await completeMultipartUpload(destination, uploadId: uploadId, parts: parts)
        } catch {
            try? await abortMultipartUpload(destination, uploadId: uploadId)
            throw error
        }
    }

    /// Every object whose key starts with `prefix`, page by page.
    public func objects(prefix: String) async throws -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let answer = try await send("ListObjectsV2 \(prefix)", .GET, key: nil, query: query)
            let text = answer.text[...]
            for entry in S3XML.elements("Contents", in: text) {
                guard let key = S3XML.value("Key", in: entry), let size = S3XML.value("Size", in: entry).flatMap(Int64.init) else {
                    throw ObjectStorageError.malformedAnswer(operation: "ListObjectsV2 \(prefix)", reason: "an entry without Key or Size")
                }
                objects.append(S3Object(key: key, size: size, lastModified: S3XML.value("LastModified", in: entry).flatMap(S3XML.date)))
            }
            token = S3XML.value("IsTruncated", in: text) == "true" ? S3XML.value("NextContinuationToken", in: text) : nil
        } while token != nil
        return objects
    }

    /// Stores the file at `path` under `key`: in one call up to `partSize`, in parts of
    /// `partSize` beyond, read one part at a time, so memory stays at one part.
    public func putFile(_ path: String, to key: String, partSize: Int) async throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ObjectStorageError.configuration("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        func readPart() throws -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(partSize)
            while buffer.readableBytes < partSize {
                let wanted = partSize - buffer.readableBytes
                let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { space in
                    read(descriptor, space.baseAddress, min(space.count, wanted))
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw ObjectStorageError.configuration("cannot read \(path): \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
            }
            return buffer
        }
        let first = try readPart()
        guard first.readableBytes == partSize else {
            try await put(key, first)
            return
        }
        let uploadId = try await createMultipartUpload(key)
        do {
            var parts: [S3Part] = []
            var part = first
            while part.readableBytes > 0 {
                let number = parts.count + 1
                let etag = try await uploadPart(key, uploadId: uploadId, number: number, part)
                parts.append(S3Part(number: number, etag: etag, size: Int64(part.readableBytes)))
                part = try readPart()
            }
            try await completeMultipartUpload(key, uploadId: uploadId, parts: parts)
        } catch {
            try? await abortMultipartUpload(key, uploadId: uploadId)
            throw error
        }
    }

    /// Checks that the bucket is there and these credentials may list it.
    public func checkBucket() async throws {
        _ = try await send("ListObjectsV2 (bucket \(bucket.name))", .GET, key: nil, query: [("list-type", "2"), ("max-keys", "1")])
    }

    // MARK: Multipart uploads

    /// Begins a multipart upload to `key`; returns its upload id.
    public func createMultipartUpload(_ key: String) async throws -> String {
        let answer = try await send("CreateMultipartUpload \(key)", .POST, key: key, query: [("uploads", "")])
        guard let uploadId = S3XML.value("UploadId", in: answer.text[...]), !uploadId.isEmpty else {
            throw ObjectStorageError.malformedAnswer(operation: "CreateMultipartUpload \(key)", reason: "no UploadId")
        }
        return uploadId
    }

    /// Stores one part (numbered from 1); returns its ETag. Sending a number again replaces that part.
    public func uploadPart(_ key: String, uploadId: String, number: Int, _ body: ByteBuffer) async throws -> String {
        let operation = "UploadPart \(key) #\(number)"
        let answer = try await send(operation, .PUT, key: key, query: [("partNumber", String(number)), ("uploadId", uploadId)], body: body)
        guard let etag = answer.headers.first(name: "etag"), !etag.isEmpty else {
            throw ObjectStorageError.malformedAnswer(operation: operation, reason: "no ETag")
        }
        return etag
    }

    /// The parts stored so far as the store lists them; nil when the upload is unknown (completed
    /// or aborted). A part sent again replaces the earlier one, yet some stores (SeaweedFS) list
    /// both, in no telling order: the ETag ``uploadPart(_:uploadId:number:_:)`` returned is what
    /// names the part to join.
    public func parts(of key: String, uploadId: String) async throws -> [S3Part]? {
        var parts: [S3Part] = []
        var marker: String?
        repeat {
            var query = [("uploadId", uploadId)]
            if let marker { query.append(("part-number-marker", marker)) }
            let answer = try await send("ListParts \(key)", .GET, key: key, query: query, accepting: [200, 404])
            if answer.status == 404 { return nil }
            let text = answer.text[...]
            for entry in S3XML.elements("Part", in: text) {
                guard let number = S3XML.value("PartNumber", in: entry).flatMap(Int.init), let etag = S3XML.value("ETag", in: entry),
                      let size = S3XML.value("Size", in: entry).flatMap(Int64.init) else {
                    throw ObjectStorageError.malformedAnswer(operation: "ListParts \(key)", reason: "a part without PartNumber, ETag or Size")
                }
                parts.append(S3Part(number: number, etag: etag, size: size))
            }
            marker = S3XML.value("IsTruncated", in: text) == "true" ? S3XML.value("NextPartNumberMarker", in: text) : nil
        } while marker != nil
        return parts
    }

    /// Joins the parts into the object at `key`. A store may fail the join after its 200 is
    /// sent; that error, in the body, is thrown too.
    public func completeMultipartUpload(_ key: String, uploadId: String, parts: [S3Part]) async throws {
        let list = parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>" }.joined()
        let body = ByteBuffer(string: "<CompleteMultipartUpload>\(list)</CompleteMultipartUpload>")
        let operation = "CompleteMultipartUpload \(key)"
        let answer = try await send(operation, .POST, key: key, query: [("uploadId", uploadId)], body: body, movingBytes: true)
        if answer.text.contains("<Error") { throw answer.error(operation) }
    }

    /// Drops a multipart upload and its parts; one unknown already is fine.
    public func abortMultipartUpload(_ key: String, uploadId: String) async throws {
        _ = try await send("AbortMultipartUpload \(key)", .DELETE, key: key, query: [("uploadId", uploadId)], accepting: [200, 204, 404])
    }

    /// The multipart uploads begun under `prefix` and not yet completed or aborted.
    public func multipartUploads(prefix: String) async throws -> [S3MultipartUpload] {
        var uploads: [S3MultipartUpload] = []
        var markers: (key: String, uploadId: String)?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.uploadId)] }
            let answer = try await send("ListMultipartUploads \(prefix)", .GET, key: nil, query: query)
            let text = answer.text[...]
            for entry in S3XML.elements("Upload", in: text) {
                guard let key = S3XML.value("Key", in: entry), let uploadId = S3XML.value("UploadId", in: entry) else {
                    throw ObjectStorageError.malformedAnswer(operation: "ListMultipartUploads \(prefix)", reason: "an upload without Key or UploadId")
                }
                uploads.append(S3MultipartUpload(key: key, uploadId: uploadId, initiated: S3XML.value("Initiated", in: entry).flatMap(S3XML.date)))
            }
            if S3XML.value("IsTruncated", in: text) == "true", let key = S3XML.value("NextKeyMarker", in: text),
               let uploadId = S3XML.value("NextUploadIdMarker", in: text) {
                markers = (key, uploadId)
            } else {
                markers = nil
            }
        } while markers != nil
        return uploads
    }

    // MARK: Requests

    struct Answer {
        var status: Int
        var headers: HTTPHeaders
        var body: ByteBuffer

        var text: String { String(buffer: body) }
        var code: String? { S3XML.value("Code", in: text[...]) }

        func error(_ operation: String) -> ObjectStorageError {
            let text = self.text[...]
            return .refused(operation: operation, status: status, code: S3XML.value("Code", in: text) ?? "(no code)",
                            message: S3XML.value("Message", in: text) ?? "")
        }
    }

    /// Sends one signed call and reads its answer whole; a status outside `accepting` is thrown
    /// as the store's error.
    func send(_ operation: String, _ method: HTTPMethod, key: String?, query: [(String, String)] = [],
              headers: [(String, String)] = [], body: ByteBuffer? = nil, accepting: Set<Int> = [200, 204],
              movingBytes: Bool = false) async throws -> Answer {
        let payload = body.map { buffer in buffer.withUnsafeReadableBytes { SHA256.hash(data: $0).hexString } }
            ?? SignatureV4.emptyPayloadSHA256
        var request = makeRequest(method, key: key, query: query, headers: headers, payloadSHA256: payload)
        if let body { request.body = .bytes(body) }
        let answer: Answer
        do {
            let response = try await http.execute(request, timeout: movingBytes || body != nil ? timeout : shortTimeout)
            let bytes = try await response.body.collect(upTo: Self.answerLimit)
            answer = Answer(status: Int(response.status.code), headers: response.headers, body: bytes)
        } catch {
            throw ObjectStorageError.unreachable(operation: operation, reason: "\(error)")
        }
        guard accepting.contains(answer.status) else { throw answer.error(operation) }
        return answer
    }

    func makeRequest(_ method: HTTPMethod, key: String?, query: [(String, String)], headers: [(String, String)],
                     payloadSHA256: String) -> HTTPClientRequest {
        let path = "/" + bucket.name + (key.map { "/" + $0 } ?? "")
        let host = bucket.endpoint.port.map { "\(bucket.endpoint.host ?? ""):\($0)" } ?? (bucket.endpoint.host ?? "")
        let all = headers + [("host", host), ("x-amz-content-sha256", payloadSHA256)]
        let signed = signer.signedHeaders(method: method.rawValue, path: path, query: query, headers: all,
                                          payloadSHA256: payloadSHA256, at: Date())
        let queryText = query.map { "\(SignatureV4.encode($0.0))=\(SignatureV4.encode($0.1))" }.joined(separator: "&")
        let origin = "\(bucket.endpoint.scheme ?? "http")://\(host)"
        var request = HTTPClientRequest(url: origin + SignatureV4.encode(path, keepingSlashes: true) + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = method
        for (name, value) in all + signed { request.headers.replaceOrAdd(name: name, value: value) }
        return request
    }
}
