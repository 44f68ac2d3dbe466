import Foundation
import Hummingbird
import SyncProtocol

/// Unauthenticated routes for operators and tools: health, Prometheus metrics, the API description.
struct OperationalRoutes {
    let context: ServerContext

    func register(on router: Router<ServerRequestContext>) {
        router.get(RouterPath(Route.health)) { _, _ in ["status": "ok"] }
        router.get(RouterPath(Route.metrics)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: context.metrics.exposition())))
        }
        router.get(RouterPath(Route.apiDescription)) { _, _ in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"),
                  let document = FileManager.default.contents(atPath: url.path) else {
                throw ServerError(.internalServerError, "openapi.yaml is missing from the server's resources; reinstall fieldgate-server")
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: document)))
        }
    }
}
