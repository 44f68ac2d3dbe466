import ArgumentParser
import Console
import Foundation
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the sync API until SIGINT or SIGTERM.",
        discussion: "Prints `fieldgate-server listening on http(s)://HOST:PORT` once ready. The API is described at /openapi.yaml."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "The address to listen on; 0.0.0.0 for every interface.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on; 0 picks a free one (the ready line names it).")
    var port = 8080

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain; serves HTTPS with --tls-key.", valueName: "pem"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "pem"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("The largest blob an upload may announce, in bytes.", valueName: "bytes"))
    var maxUploadSize: Int64 = ServerConfiguration.defaultMaxUploadSize

    func validate() throws {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("give both --tls-cert and --tls-key for HTTPS, or neither")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxUploadSize >= 0 else { throw ValidationError("--max-upload-size must not be negative") }
    }

    func run() async throws {
        let configuration = ServerConfiguration(dataDirectory: data.dataURL, host: host, port: port,
                                                tlsCertificatePath: tlsCertificate, tlsKeyPath: tlsKey,
                                                maxUploadSize: maxUploadSize)
        let server: EvidenceServer
        do {
            server = try EvidenceServer(configuration: configuration)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let scheme = tlsCertificate == nil ? "http" : "https"
        try await server.run(handlingShutdownSignals: true) { port in
            emitLine("fieldgate-server listening on \(scheme)://\(configuration.host):\(port)")
        }
    }
}
