import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Store
import SyncProtocol

/// One answer from the server, its body read whole (answers are small; uploads go the other way).
struct ServerAnswer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    /// The `error` of an ErrorBody, else the body as text.
    var reason: String {
        if let error = try? WireCoding.decoder.decode(ErrorBody.self, from: body) { return error.error }
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(text)"
    }

    func decode<Value: Decodable>(_ type: Value.Type) throws(SyncError) -> Value {
        do {
            return try WireCoding.decoder.decode(type, from: body)
        } catch {
            throw .protocolViolation("HTTP \(status) body is not a \(type): \(error)")
        }
    }
}

extension HTTPClient {
    /// The client a gateway talks to its server with: a bounded connect time (the client
    /// retries a refused connection until it runs out, so a sync without a network ends in
    /// reasonable time) and, for https, the bureau's own certificate authority when given.
    public static func forSync(caCertificatePEM: String? = nil) throws(SyncError) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5))
        if let caCertificatePEM {
            var tls = TLSConfiguration.makeClientConfiguration()
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8)))
            } catch {
                throw .badCertificate("the CA certificate is not PEM: \(error)")
            }
            configuration.tlsConfiguration = tls
        }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The client for an enrolled gateway.
    public static func forSync(_ enrolment: SyncEnrolment?) throws(SyncError) -> HTTPClient {
        try forSync(caCertificatePEM: enrolment?.caCertificatePEM)
    }
}

/// HTTP to the central server: the gateway's credential on every request, and retries with
/// backoff for what a later try can fix (no connection, 5xx, 429).
struct ServerConnection: Sendable {
    let client: HTTPClient
    let baseURL: URL
    let credential: String?
    let retry: RetryPolicy
    /// Answers larger than this are refused (a receipt for a large batch is well under it).
    static let maxAnswerBytes = 16 << 20

    init(client: HTTPClient, serverURL: String, credential: String?, retry: RetryPolicy) throws(SyncError) {
        guard let url = URL(string: serverURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host != nil else {
            throw .badServerURL(serverURL)
        }
        self.client = client
        baseURL = url
        self.credential = credential
        self.retry = retry
    }

    /// `path` resolved against the server URL (absolute URLs, as a tus Location may be, kept).
    func url(_ path: String) -> String {
        if path.hasPrefix("http://") || path.hasPrefix("https://") { return path }
        return root + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// The server URL without trailing slashes, as paths are appended to it and as it is kept.
    var root: String {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// Sends one request once; connection failures are `.unreachable`.
    /// The chunk checksum to use, from the server's tus discovery (`OPTIONS /v1/uploads`);
    /// SHA-1, which every server of ours takes, when discovery does not answer.
    func checksumAlgorithm() async -> Tus.ChecksumAlgorithm {
        let answer = try? await sendOnce(.OPTIONS, Route.uploads, headers: [(Tus.Header.resumable, Tus.version)])
        guard let answer, answer.status == 204 || answer.status == 200 else { return .sha1 }
        return Tus.ChecksumAlgorithm.chosen(from: answer.headers.first(name: Tus.Header.checksumAlgorithm))
    }

    func sendOnce(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: HTTPClientRequest.Body? = nil,
                  timeout: TimeAmount = .seconds(120)) async throws(SyncError) -> ServerAnswer {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        if let credential { request.headers.add(name: "Authorization", value: "Bearer \(credential)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = body
        do {
            let response = try await client.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: Self.maxAnswerBytes)
            return ServerAnswer(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
        } catch let error as CancellationError {
            throw .unreachable("cancelled (\(error))")
        } catch let error as NIOSSLError {
            // A certificate that does not verify will not verify on a retry either.
            throw .badCertificate("TLS with \(request.url) failed: \(error); if the server's certificate is signed by the bureau's own authority, give it with `fieldgate enroll --ca-cert FILE`")
        } catch {
            throw .unreachable("\(request.method.rawValue) \(request.url): \(error)")
        }
    }

    /// Sends a request whose body can be built again, retrying transient failures. Answers
    /// other than 5xx and 429 are returned for the caller to judge.
    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: @Sendable () -> HTTPClientRequest.Body? = { nil },
              timeout: TimeAmount = .seconds(120)) async throws(SyncError) -> ServerAnswer {
        var lastProblem = ""
        for attempt in 0..<retry.attempts {
            if attempt > 0 { try await pause(beforeRetry: attempt - 1) }
            do {
                let answer = try await sendOnce(method, path, headers: headers, body: body(), timeout: timeout)
                if answer.status >= 500 || answer.status == 429 {
                    lastProblem = "\(method.rawValue) \(path): \(answer.reason)"
                    continue
                }
                return answer
            } catch {
                guard case .unreachable(let reason) = error else { throw error }
                lastProblem = reason
            }
        }
        throw .unreachable(lastProblem + " (after \(retry.attempts) tries)")
    }

    func pause(beforeRetry retryNumber: Int) async throws(SyncError) {
        do {
            try await retry.pause(beforeRetry: retryNumber)
        } catch {
            throw .unreachable("cancelled")
        }
    }

    /// A JSON body.
    static func json<Value: Encodable>(_ value: Value) throws(SyncError) -> ByteBuffer {
        do {
            return ByteBuffer(data: try WireCoding.encoder.encode(value))
        } catch {
            throw .protocolViolation("cannot encode \(Value.self): \(error)")
        }
    }
}

extension ServerAnswer {
    /// Throws the error a non-success answer means for the gateway.
    func expect(_ accepted: Set<Int>, doing what: String) throws(SyncError) {
        if accepted.contains(status) { return }
        if status == 401 { throw .unauthorized(reason) }
        throw .protocolViolation("\(what): \(reason)")
    }
}
