import Foundation
import Hummingbird
import Synchronization

/// Which server instance this is (`--instance`, else host name and port): named in every
/// answer's `Fieldgate-Instance` header and in `/metrics`, so that behind a load balancer an
/// operator can tell which instance took a request.
final class InstanceName: Sendable {
    private let name: Mutex<String>

    init(_ name: String) { self.name = Mutex(name) }

    var value: String { name.withLock { $0 } }

    func set(_ value: String) { name.withLock { $0 = value } }

    /// `host:port`, the name an instance has unless it is given one.
    static func defaultName(port: Int) -> String {
        "\(ProcessInfo.processInfo.hostName):\(port)"
    }

    static let header = HeaderName("Fieldgate-Instance")!
}

/// Adds `Fieldgate-Instance` to every answer, errors included (so it sits outside the
/// middleware that turns errors into answers).
struct InstanceHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    let instance: InstanceName

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers[InstanceName.header] = instance.value
            return response
        } catch var error as ServerError {
            error.headers[InstanceName.header] = instance.value
            throw error
        }
    }
}
