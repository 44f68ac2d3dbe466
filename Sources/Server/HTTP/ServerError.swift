import Foundation
import Hummingbird
import SyncProtocol

/// An error answered as `ErrorBody` JSON with its status: every failure a client sees names
/// what was wrong.
struct ServerError: HTTPResponseError {
    let status: HTTPResponse.Status
    let reason: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ reason: String, headers: HTTPFields = [:]) {
        self.status = status
        self.reason = reason
        self.headers = headers
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONBody.response(ErrorBody(error: reason), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// Any error as the `ServerError` the client gets; an unexpected one is logged and answered 500.
    static func answering(_ error: any Error, to request: Request, context: some RequestContext) -> ServerError {
        switch error {
        case let error as ServerError:
            return error
        case let error as HTTPError:
            return ServerError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        default:
            // The detail (paths, SQL, system errors) is for the operators' log only; the client
            // gets a plain reason and the id to quote, which finds the detail in the log.
            let requestId = context.id
            // Some errors (PostgreSQL's) keep their detail out of their plain description.
            let detail = String(reflecting: error)
            context.logger.error("request \(requestId): \(request.method) \(request.uri.path) failed: \(detail)")
            return ServerError(.internalServerError,
                               "the server could not complete the request (request id \(requestId)); its operators' log has the detail",
                               headers: [requestIdHeader: requestId])
        }
    }

    /// Names the request in a 5xx answer and in the log line that explains it.
    static let requestIdHeader = HeaderName("Request-Id")!

    static func badRequest(_ reason: String) -> ServerError { ServerError(.badRequest, reason) }
    static func unauthorized(_ reason: String) -> ServerError { ServerError(.unauthorized, reason) }
    static func notFound(_ reason: String) -> ServerError { ServerError(.notFound, reason) }
}

/// Turns any error a handler throws into an `ErrorBody` answer, so even unexpected failures
/// (a full disk, a broken database) reach the client as JSON with a reason.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw ServerError.answering(error, to: request, context: context)
        }
    }
}

enum JSONBody {
    static let contentType = "application/json; charset=utf-8"

    static func response<Value: Encodable>(_ value: Value, status: HTTPResponse.Status = .ok) -> Response {
        // The SyncProtocol types encode without failing; a failure here would be a programming error.
        let data = (try? WireCoding.encoder.encode(value)) ?? Data(#"{"error":"response could not be encoded"}"#.utf8)
        return Response(status: status, headers: [.contentType: contentType],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads a whole request body of at most `limit` bytes; more is 413.
    static func collect(_ request: Request, limit: Int, what: String, context: some ConnectionContext) async throws -> ByteBuffer {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw ServerError(.contentTooLarge, "\(what) is larger than \(limit) bytes")
        }
        await context.acceptBody()
        var body = ByteBuffer()
        for try await chunk in request.body {
            guard body.readableBytes + chunk.readableBytes <= limit else {
                throw ServerError(.contentTooLarge, "\(what) is larger than \(limit) bytes")
            }
            var chunk = chunk
            body.writeBuffer(&chunk)
        }
        return body
    }

    /// Decodes a request body as `Value`; malformed JSON is 400 naming what was expected.
    static func decode<Value: Decodable>(_ type: Value.Type, from body: ByteBuffer, what: String) throws -> Value {
        do {
            return try WireCoding.decoder.decode(type, from: Data(body.readableBytesView))
        } catch let DecodingError.keyNotFound(key, _) {
            throw ServerError.badRequest("\(what) lacks the field \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ServerError.badRequest("\(what) has a wrong value at \"\(path)\": \(context.debugDescription)")
        } catch {
            throw ServerError.badRequest("\(what) is not valid JSON")
        }
    }
}
