import Crypto
import Foundation
import Hummingbird
import SyncProtocol

/// tus 1.0 at `/v1/uploads`: core, creation, checksum and termination. Chunk bodies stream to
/// the upload's part file (memory stays bounded whatever the size); an offset is acknowledged
/// only once its bytes are synced and the offset is in the database, so it survives a crash.
/// A finished upload is verified against the `sha256` of its `Upload-Metadata` before its blob
/// counts as held.
struct UploadRoutes {
    let context: ServerContext

    func register(on router: Router<BasicRequestContext>) {
        let uploads = router.group("/v1/uploads").add(middleware: TusResumableMiddleware())
        uploads.on("", method: .options) { _, _ in discovery() }
        uploads.post("") { request, _ in try await create(request) }
        uploads.head(":uploadId") { request, requestContext in
            try await status(request, uploadId: requestContext.parameters.require("uploadId"))
        }
        uploads.patch(":uploadId") { request, requestContext in
            try await receiveChunk(request, uploadId: requestContext.parameters.require("uploadId"))
        }
        uploads.delete(":uploadId") { request, requestContext in
            try await terminate(request, uploadId: requestContext.parameters.require("uploadId"))
        }
    }

    func discovery() -> Response {
        Response(status: .noContent, headers: [
            HeaderName(Tus.Header.version)!: Tus.version,
            HeaderName(Tus.Header.extensions)!: Tus.extensions,
            HeaderName(Tus.Header.checksumAlgorithm)!: Tus.checksumAlgorithms,
            HeaderName(Tus.Header.maxSize)!: String(context.maxUploadSize),
        ])
    }

    func create(_ request: Request) async throws -> Response {
        let gateway = try await context.authenticator.authenticate(request)
        guard let lengthText = request.headers[TusHeader.uploadLength] else {
            throw ServerError.badRequest("Upload-Length is required (this server does not support deferred lengths)")
        }
        guard let length = Int64(lengthText), length >= 0 else {
            throw ServerError.badRequest("Upload-Length must be a whole number of bytes, not \"\(lengthText)\"")
        }
        guard length <= context.maxUploadSize else {
            throw ServerError(.contentTooLarge, "Upload-Length \(length) exceeds this server's maximum of \(context.maxUploadSize) bytes")
        }
        let metadataText = request.headers[TusHeader.uploadMetadata] ?? ""
        guard let metadata = Tus.decodeMetadata(metadataText) else {
            throw ServerError.badRequest("Upload-Metadata is malformed: expected \"key base64value\" pairs separated by commas")
        }
        guard let sha256 = metadata["sha256"] else {
            throw ServerError.badRequest("Upload-Metadata must include sha256, the lower-case hex SHA-256 of the whole blob")
        }
        guard WireCoding.isSHA256(sha256) else {
            throw ServerError.badRequest("Upload-Metadata sha256 is not 64 lower-case hex digits: \"\(sha256)\"")
        }
        let upload = UploadRecord(id: UUID().uuidString.lowercased(), gatewayId: gateway.id, length: length, offset: 0,
                                  metadata: metadataText, sha256: sha256, state: .receiving)
        try context.parts.create(upload.id)
        try await context.repository.createUpload(upload, at: Date())
        if length == 0 {
            _ = try await finish(upload)
        }
        return Response(status: .created, headers: [.location: "/v1/uploads/\(upload.id)", TusHeader.uploadOffset: "0"])
    }

    func status(_ request: Request, uploadId: String) async throws -> Response {
        let gateway = try await context.authenticator.authenticate(request)
        let upload = try await ownedUpload(uploadId, of: gateway)
        var headers: HTTPFields = [TusHeader.uploadOffset: String(upload.offset), TusHeader.uploadLength: String(upload.length),
                                   .cacheControl: "no-store"]
        if !upload.metadata.isEmpty { headers[TusHeader.uploadMetadata] = upload.metadata }
        return Response(status: .ok, headers: headers)
    }

    func terminate(_ request: Request, uploadId: String) async throws -> Response {
        let gateway = try await context.authenticator.authenticate(request)
        let upload = try await ownedUpload(uploadId, of: gateway)
        return try await context.uploadsInProgress.exclusively(upload.id) {
            try await context.repository.deleteUpload(id: upload.id)
            context.parts.remove(upload.id)
            return Response(status: .noContent)
        }
    }

    func receiveChunk(_ request: Request, uploadId: String) async throws -> Response {
        let gateway = try await context.authenticator.authenticate(request)
        guard request.headers[.contentType]?.lowercased() == Tus.offsetContentType else {
            throw ServerError(.unsupportedMediaType, "a PATCH body must have Content-Type \(Tus.offsetContentType)")
        }
        guard let offsetText = request.headers[TusHeader.uploadOffset], let claimedOffset = Int64(offsetText), claimedOffset >= 0 else {
            throw ServerError.badRequest("Upload-Offset is required: the byte offset this chunk starts at (HEAD tells the current one)")
        }
        let checksum = try request.headers[TusHeader.uploadChecksum].map(Self.parseChecksum)
        let upload = try await ownedUpload(uploadId, of: gateway)
        return try await context.uploadsInProgress.exclusively(upload.id) {
            try await receiveChunk(request, upload: upload, gateway: gateway, claimedOffset: claimedOffset, checksum: checksum)
        }
    }

    private func receiveChunk(_ request: Request, upload: UploadRecord, gateway: GatewayRecord, claimedOffset: Int64,
                              checksum: (algorithm: Tus.ChecksumAlgorithm, digest: Data)?) async throws -> Response {
        // Re-read under the claim: another request may have moved the offset meanwhile.
        guard let current = try await context.repository.upload(id: upload.id) else {
            throw ServerError.notFound("no upload \(upload.id) for gateway \(gateway.name)")
        }
        guard claimedOffset == current.offset else {
            throw ServerError(.conflict, "Upload-Offset \(claimedOffset) does not match the upload's offset \(current.offset): resume from \(current.offset)",
                              headers: [TusHeader.uploadOffset: String(current.offset)])
        }
        guard current.state == .receiving else {
            try await drain(request)
            return Response(status: .noContent, headers: [TusHeader.uploadOffset: String(current.offset)])
        }
        let remaining = current.length - current.offset
        let writer = try context.parts.openForChunk(current.id, at: current.offset)
        var hasher = checksum.map { ChunkHasher($0.algorithm) }
        var tooLong = false
        do {
            for try await buffer in request.body {
                context.metrics.uploadBytesReceived.increment(by: Int64(buffer.readableBytes))
                if tooLong { continue }
                guard writer.written + Int64(buffer.readableBytes) <= remaining else {
                    tooLong = true
                    continue
                }
                try buffer.withUnsafeReadableBytes { bytes in
                    hasher?.update(bytes)
                    try writer.write(bytes)
                }
            }
        } catch let error as FileError {
            writer.discard()
            throw error
        } catch {
            // The connection dropped mid-chunk. A chunk with a checksum cannot be verified, so
            // none of it is kept; without one, the received bytes are kept (tus: SHOULD), and the
            // client resumes from the offset HEAD reports. Either way the whole blob is verified
            // against its SHA-256 at the end.
            if checksum != nil || writer.written == 0 {
                writer.discard()
            } else {
                try writer.sync()
                try await context.repository.updateUpload(id: current.id, offset: current.offset + writer.written,
                                                          state: .receiving, at: Date())
            }
            // Nobody reads this answer; it keeps a client's disconnect out of the error log.
            throw ServerError.badRequest("the chunk ended before its announced length (\(error)); resume from the offset HEAD reports")
        }
        if tooLong {
            writer.discard()
            throw ServerError(.contentTooLarge, "the chunk runs past Upload-Length \(current.length): at most \(remaining) more bytes fit; chunk discarded")
        }
        if let checksum, let hasher, hasher.finalize() != checksum.digest {
            writer.discard()
            context.metrics.uploadChunksRejected.increment()
            throw ServerError(HTTPResponse.Status(code: Tus.checksumMismatchStatus, reasonPhrase: "Checksum Mismatch"),
                              "chunk does not match its Upload-Checksum \(checksum.algorithm.rawValue); chunk discarded, offset stays \(current.offset)",
                              headers: [TusHeader.uploadOffset: String(current.offset)])
        }
        try writer.sync()
        var advanced = current
        advanced.offset = current.offset + writer.written
        try await context.repository.updateUpload(id: current.id, offset: advanced.offset, state: .receiving, at: Date())
        if advanced.offset == advanced.length {
            _ = try await finish(advanced)
        }
        return Response(status: .noContent, headers: [TusHeader.uploadOffset: String(advanced.offset)])
    }

    /// Verifies a complete upload against its sha256 and moves it into the blob store; on a
    /// mismatch the upload is deleted and 422 thrown.
    private func finish(_ upload: UploadRecord) async throws -> UploadRecord {
        let (sha256, size) = try context.parts.sha256(of: upload.id)
        guard sha256 == upload.sha256, size == upload.length else {
            try await context.repository.deleteUpload(id: upload.id)
            context.parts.remove(upload.id)
            throw ServerError(.unprocessableContent, "content does not match sha256 \(upload.sha256) given in Upload-Metadata; upload discarded")
        }
        try context.blobs.store(verifiedFile: context.parts.path(of: upload.id), sha256: sha256)
        try await context.repository.recordBlob(sha256: sha256, size: size, at: Date())
        try await context.repository.updateUpload(id: upload.id, offset: upload.length, state: .complete, at: Date())
        context.metrics.uploadsCompleted.increment()
        var complete = upload
        complete.state = .complete
        return complete
    }

    /// The upload, only when it is this gateway's: another gateway's upload is as unknown as a missing one.
    private func ownedUpload(_ uploadId: String, of gateway: GatewayRecord) async throws -> UploadRecord {
        guard let upload = try await context.repository.upload(id: uploadId), upload.gatewayId == gateway.id else {
            throw ServerError.notFound("no upload \(uploadId) for gateway \(gateway.name)")
        }
        return upload
    }

    private func drain(_ request: Request) async throws {
        for try await buffer in request.body {
            context.metrics.uploadBytesReceived.increment(by: Int64(buffer.readableBytes))
        }
    }

    static func parseChecksum(_ header: String) throws -> (algorithm: Tus.ChecksumAlgorithm, digest: Data) {
        guard let (name, digest) = Tus.parseChecksum(header) else {
            throw ServerError.badRequest("Upload-Checksum must be \"<algorithm> <base64 digest>\"")
        }
        guard let algorithm = Tus.ChecksumAlgorithm(rawValue: name) else {
            throw ServerError.badRequest("Upload-Checksum algorithm \(name) is not supported: use one of \(Tus.checksumAlgorithms)")
        }
        return (algorithm, digest)
    }
}

/// A chunk's running digest for `Upload-Checksum`.
struct ChunkHasher {
    private var sha1: Insecure.SHA1?
    private var sha256: SHA256?

    init(_ algorithm: Tus.ChecksumAlgorithm) {
        switch algorithm {
        case .sha1: sha1 = Insecure.SHA1()
        case .sha256: sha256 = SHA256()
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        sha1?.update(bufferPointer: bytes)
        sha256?.update(bufferPointer: bytes)
    }

    func finalize() -> Data {
        if let sha1 { return Data(sha1.finalize()) }
        if let sha256 { return Data(sha256.finalize()) }
        return Data()
    }
}

/// A header name (HTTPTypes' `HTTPField.Name`, reached through the `HTTPFields` Hummingbird exports).
typealias HeaderName = HTTPFields.Element.Name

/// The tus header names as `HTTPField.Name`s.
enum TusHeader {
    static let resumable = HeaderName(Tus.Header.resumable)!
    static let version = HeaderName(Tus.Header.version)!
    static let uploadOffset = HeaderName(Tus.Header.uploadOffset)!
    static let uploadLength = HeaderName(Tus.Header.uploadLength)!
    static let uploadMetadata = HeaderName(Tus.Header.uploadMetadata)!
    static let uploadChecksum = HeaderName(Tus.Header.uploadChecksum)!
}

/// Adds `Tus-Resumable: 1.0.0` to every answer under `/v1/uploads`, errors included, and
/// refuses (412) a request, other than OPTIONS, that does not speak tus 1.0.0.
struct TusResumableMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            if request.method != .options && request.headers[TusHeader.resumable] != Tus.version {
                throw ServerError(.preconditionFailed, "this server speaks tus \(Tus.version): send Tus-Resumable: \(Tus.version)",
                                  headers: [TusHeader.version: Tus.version])
            }
            response = try await next(request, context)
        } catch {
            response = try ServerError.answering(error, to: request, context: context).response(from: request, context: context)
        }
        response.headers[TusHeader.resumable] = Tus.version
        return response
    }
}
