import Common
import Crypto
import Foundation
import Hummingbird
import ObjectStorage
import SyncProtocol

/// tus 1.0 at `/v1/uploads`: core, creation, creation-with-upload, checksum and termination.
/// Chunk bodies stream to the upload's staging (a part file, or S3 parts; memory stays bounded
/// whatever the size); an offset is acknowledged only once its bytes are durable there and the
/// offset is in the database, so it survives a crash. A finished upload is verified against the `sha256` of its
/// `Upload-Metadata` before its blob counts as held. A client that sends
/// `Expect: 100-continue` gets 100 Continue only once its request has passed every check.
struct UploadRoutes {
    let context: ServerContext

    func register(on router: Router<ServerRequestContext>) {
        let uploads = router.group(RouterPath(Route.uploads)).add(middleware: TusResumableMiddleware())
        // Discovery is open to anyone; everything else is a gateway's, checked after Tus-Resumable.
        uploads.on("", method: .options) { _, _ in discovery() }
        let uploadId = RouterPath(Route.Parameter.pattern(Route.Parameter.uploadId))
        uploads.gatewayRoutes(authenticatedBy: context.authenticator)
            .post("") { request, requestContext in try await create(request, requestContext: requestContext) }
            .head(uploadId) { _, requestContext in
                try await status(uploadId: requestContext.parameters.require(Route.Parameter.uploadId), of: requestContext.gateway)
            }
            .patch(uploadId) { request, requestContext in
                try await receiveChunk(request, uploadId: requestContext.parameters.require(Route.Parameter.uploadId), requestContext: requestContext)
            }
            .delete(uploadId) { _, requestContext in
                try await terminate(uploadId: requestContext.parameters.require(Route.Parameter.uploadId), of: requestContext.gateway)
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

    func create(_ request: Request, requestContext: GatewayRequestContext) async throws -> Response {
        let gateway = requestContext.gateway
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
        // creation-with-upload: the body, when typed as tus bytes, is the upload's first chunk.
        let withUpload = request.headers[.contentType]?.lowercased() == Tus.offsetContentType
        let checksum = try withUpload ? request.headers[TusHeader.uploadChecksum].map(Self.parseChecksum) : nil
        if withUpload { try Self.checkDeclaredLength(request, fits: length) }
        let upload = UploadRecord(id: UUID().uuidString.lowercased(), gatewayId: gateway.id, length: length, offset: 0,
                                  metadata: metadataText, sha256: sha256, state: .receiving)
        let inFlight = try await context.repository.uploadsInFlight(gatewayId: gateway.id)
        guard inFlight.count < context.quotas.uploadsInFlight else {
            throw ServerError(.tooManyRequests, "gateway \(gateway.name) has \(inFlight.count) uploads in flight, its quota: finish or terminate one first (abandoned ones expire)",
                              headers: [.retryAfter: "60"])
        }
        guard inFlight.bytes + length <= context.quotas.bytesInFlight else {
            throw ServerError(.tooManyRequests, "gateway \(gateway.name) has \(inFlight.bytes) bytes in flight; \(length) more would pass its quota of \(context.quotas.bytesInFlight)",
                              headers: [.retryAfter: "60"])
        }
        try await context.staging.begin(upload, record: { try await context.repository.createUpload(upload, at: context.clock.now()) },
                                        unrecord: { try? await context.repository.deleteUpload(id: upload.id) })
        let location = Route.upload(upload.id)
        let stored: UploadRecord
        do {
            stored = try await exclusively(upload.id) {
                if withUpload { return try await receiveBody(request, of: upload, checksum: checksum, requestContext: requestContext) }
                return length == 0 ? try await finish(upload) : upload
            }
        } catch var error as ServerError {
            // The upload exists: a client whose first chunk was refused (460) resumes it at its Location.
            error.headers[.location] = location
            throw error
        }
        return Response(status: .created, headers: [.location: location, TusHeader.uploadOffset: String(stored.offset)])
    }

    /// HEAD: where the upload stands. One with every byte but no blob (a crash came between)
    /// is completed first, so a client is never told "all there" for an upload that is not done.
    func status(uploadId: String, of gateway: GatewayRecord) async throws -> Response {
        var upload = try await ownedUpload(uploadId, of: gateway)
        if upload.state == .receiving && upload.offset == upload.length {
            do {
                upload = try await context.uploadLocks.exclusively(upload.id) {
                    guard let current = try await context.repository.upload(id: upload.id) else {
                        throw ServerError.notFound("no upload \(upload.id) for gateway \(gateway.name)")
                    }
                    guard current.state == .receiving && current.offset == current.length else { return current }
                    switch try await context.completion.complete(current) {
                    case .completed(let complete): return complete
                    case .discarded: throw ServerError.notFound("upload \(upload.id)'s bytes did not match its sha256; it was discarded: start afresh")
                    }
                }
            } catch is UploadLockError {
                // Another request is completing it; its answer settles the state.
            }
        }
        var headers: HTTPFields = [TusHeader.uploadOffset: String(upload.offset), TusHeader.uploadLength: String(upload.length),
                                   .cacheControl: "no-store"]
        if !upload.metadata.isEmpty { headers[TusHeader.uploadMetadata] = upload.metadata }
        return Response(status: .ok, headers: headers)
    }

    func terminate(uploadId: String, of gateway: GatewayRecord) async throws -> Response {
        let upload = try await ownedUpload(uploadId, of: gateway)
        return try await exclusively(upload.id) {
            try await context.repository.deleteUpload(id: upload.id)
            await context.staging.remove(upload.id)
            context.digests.forget(upload.id)
            return Response(status: .noContent)
        }
    }

    func receiveChunk(_ request: Request, uploadId: String, requestContext: GatewayRequestContext) async throws -> Response {
        let gateway = requestContext.gateway
        guard request.headers[.contentType]?.lowercased() == Tus.offsetContentType else {
            throw ServerError(.unsupportedMediaType, "a PATCH body must have Content-Type \(Tus.offsetContentType)")
        }
        guard let offsetText = request.headers[TusHeader.uploadOffset], let claimedOffset = Int64(offsetText), claimedOffset >= 0 else {
            throw ServerError.badRequest("Upload-Offset is required: the byte offset this chunk starts at (HEAD tells the current one)")
        }
        let checksum = try request.headers[TusHeader.uploadChecksum].map(Self.parseChecksum)
        let upload = try await ownedUpload(uploadId, of: gateway)
        let stored = try await exclusively(upload.id) {
            // Re-read under the lock: another request may have moved the offset meanwhile.
            guard let current = try await context.repository.upload(id: upload.id) else {
                throw ServerError.notFound("no upload \(upload.id) for gateway \(gateway.name)")
            }
            guard claimedOffset == current.offset else {
                throw ServerError(.conflict, "Upload-Offset \(claimedOffset) does not match the upload's offset \(current.offset): resume from \(current.offset)",
                                  headers: [TusHeader.uploadOffset: String(current.offset)])
            }
            guard current.state == .receiving else {
                await requestContext.acceptBody()
                try await drain(request)
                return current
            }
            try Self.checkDeclaredLength(request, fits: current.length - current.offset)
            return try await receiveBody(request, of: current, checksum: checksum, requestContext: requestContext)
        }
        return Response(status: .noContent, headers: [TusHeader.uploadOffset: String(stored.offset)])
    }

    /// A body announced longer than the upload has room for is refused before it is sent (413).
    private static func checkDeclaredLength(_ request: Request, fits remaining: Int64) throws {
        if let declared = request.headers[.contentLength].flatMap(Int64.init), declared > remaining {
            throw ServerError(.contentTooLarge, "the chunk of \(declared) bytes runs past Upload-Length: at most \(remaining) more bytes fit")
        }
    }

    /// Runs `body` holding the upload's lock; a lock held by another request is 423 Locked
    /// (409 stays for a wrong offset), which the client retries after a while.
    private func exclusively<Value: Sendable>(_ uploadId: String, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await context.uploadLocks.exclusively(uploadId, body)
        } catch let error as UploadLockError {
            context.metrics.uploadLockConflicts.increment()
            throw ServerError(Self.locked, error.description)
        }
    }

    static let locked = HTTPResponse.Status(code: 423, reasonPhrase: "Locked")

    /// Streams one chunk (a PATCH body, or the body of a creation-with-upload) into the upload's staging
    /// at the upload's offset, then makes it durable: the bytes synced, then the new offset
    /// committed to the database, and only then acknowledged. The caller holds the upload's lock.
    private func receiveBody(_ request: Request, of current: UploadRecord, checksum: (algorithm: Tus.ChecksumAlgorithm, digest: Data)?,
                             requestContext: GatewayRequestContext) async throws -> UploadRecord {
        let remaining = current.length - current.offset
        context.metrics.uploadsReceiving.increment()
        defer { context.metrics.uploadsReceiving.decrement() }
        await requestContext.acceptBody()
        let writer = try await context.staging.openChunk(current)
        var chunkHasher = checksum.map { ChunkChecksum($0.algorithm) }
        var blobHasher = context.digests.take(current.id, at: current.offset)
        var tooLong = false
        do {
            for try await buffer in request.body {
                context.metrics.uploadBytesReceived.increment(by: Int64(buffer.readableBytes))
                if tooLong { continue }
                guard writer.written + Int64(buffer.readableBytes) <= remaining else {
                    tooLong = true
                    continue
                }
                buffer.withUnsafeReadableBytes { bytes in
                    chunkHasher?.update(bytes)
                    blobHasher?.update(bufferPointer: bytes)
                }
                try await writer.write(buffer)
            }
        } catch let error as FileError {
            await writer.discard()
            throw error
        } catch let error as ObjectStorageError {
            await writer.discard()
            throw error
        } catch let error as StagingError {
            await writer.discard()
            throw error
        } catch {
            // The connection dropped mid-chunk. A chunk with a checksum cannot be verified, so
            // none of it is kept; without one, the received bytes are kept (tus: SHOULD), and the
            // client resumes from the offset HEAD reports. Either way the whole blob is verified
            // against its SHA-256 at the end.
            if checksum != nil || writer.written == 0 {
                await writer.discard()
            } else {
                try await writer.commit()
                let offset = current.offset + writer.written
                try await context.repository.updateUpload(id: current.id, offset: offset, state: .receiving, at: context.clock.now())
                await writer.acknowledged()
                if let blobHasher { context.digests.keep(current.id, at: offset, blobHasher) }
            }
            // Nobody reads this answer; it keeps a client's disconnect out of the error log.
            throw ServerError.badRequest("the chunk ended before its announced length (\(error)); resume from the offset HEAD reports")
        }
        if tooLong {
            await writer.discard()
            throw ServerError(.contentTooLarge, "the chunk runs past Upload-Length \(current.length): at most \(remaining) more bytes fit; chunk discarded")
        }
        if let checksum, let chunkHasher, chunkHasher.finalize() != checksum.digest {
            await writer.discard()
            context.metrics.uploadChunksRejected.increment()
            throw ServerError(HTTPResponse.Status(code: Tus.checksumMismatchStatus, reasonPhrase: "Checksum Mismatch"),
                              "chunk does not match its Upload-Checksum \(checksum.algorithm.rawValue); chunk discarded, offset stays \(current.offset)",
                              headers: [TusHeader.uploadOffset: String(current.offset)])
        }
        try await writer.commit()
        var advanced = current
        advanced.offset = current.offset + writer.written
        try await context.repository.updateUpload(id: current.id, offset: advanced.offset, state: .receiving, at: context.clock.now())
        await writer.acknowledged()
        if let blobHasher { context.digests.keep(current.id, at: advanced.offset, blobHasher) }
        if advanced.offset == advanced.length {
            return try await finish(advanced)
        }
        return advanced
    }

    /// Completes an upload whose every byte has arrived (``UploadCompletion``); when the bytes
    /// do not match its sha256 the upload is gone and 422 thrown, so the client starts afresh.
    private func finish(_ upload: UploadRecord) async throws -> UploadRecord {
        switch try await context.completion.complete(upload) {
        case .completed(let complete):
            return complete
        case .discarded(let reason):
            throw ServerError(.unprocessableContent, reason)
        }
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
