import ArgumentParser
import CMemory
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

    @Option(help: ArgumentHelp("This instance's name, for the Fieldgate-Instance header of every answer and fieldgate_instance_info in /metrics; useful when several instances share one address. Default: the host name and port.",
                               valueName: "name"))
    var instance: String?

    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain; serves HTTPS with --tls-key.", valueName: "pem"))
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert.", valueName: "pem"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("The largest blob an upload may announce, in bytes.", valueName: "bytes"))
    var maxUploadSize: Int64 = ServerConfiguration.defaultMaxUploadSize

    @Option(help: ArgumentHelp("Seconds a new connection has to send its first request's head.", valueName: "seconds"))
    var headerTimeout: Double = 10

    @Option(help: ArgumentHelp("Seconds a request body may stop arriving before its request ends (releasing its upload; what was acknowledged stays).", valueName: "seconds"))
    var readTimeout: Double = 30

    @Option(help: ArgumentHelp("Seconds a kept-alive connection may wait for its next request.", valueName: "seconds"))
    var idleTimeout: Double = 60

    @Option(help: ArgumentHelp("Connections held at once; beyond it a new one replaces the longest-idle. Default: half the open-file limit less 64, at most 4096 (480 under 1024).", valueName: "n"))
    var maxConnections: Int?

    @Option(help: ArgumentHelp("Failed enrolments one client address may make per minute; more are refused (429) until the minute passes.", valueName: "n"))
    var enrolFailuresPerMinute = 10

    @Option(help: ArgumentHelp("Days an upload nobody writes to is kept before it is deleted with its part file.", valueName: "days"))
    var uploadExpiryDays: Double = 7

    @Option(help: ArgumentHelp("Uploads one gateway may have in flight at once (abandoned ones count until they expire).", valueName: "n"))
    var maxUploadsInFlight = UploadQuotas.defaultUploadsInFlight

    @Option(help: ArgumentHelp("Declared bytes of one gateway's uploads in flight together.", valueName: "bytes"))
    var maxBytesInFlight = UploadQuotas.defaultBytesInFlight

    @Option(help: ArgumentHelp("Items one batch's manifest may carry.", valueName: "n"))
    var maxItemsPerBatch = UploadQuotas.defaultItemsPerManifest

    @Option(name: .customLong("tsa-url"), help: ArgumentHelp(
        "An RFC 3161 time-stamping authority: every receipt gets its token (in the background; an authority that is down delays the token, never the receipt). Needs --tsa-ca-file.",
        valueName: "url"))
    var tsaURL: String?

    @Option(name: .customLong("tsa-ca-file"), help: ArgumentHelp(
        "PEM CA certificate(s) that verify --tsa-url's tokens; gateways put them in evidence bundles.", valueName: "pem"))
    var tsaCAFile: String?

    @Option(name: .customLong("tsa-retry-interval"), help: ArgumentHelp(
        "Seconds between rounds of time-stamp requests; after failures it doubles, up to 600.", valueName: "seconds"))
    var tsaRetryInterval: Double = 10

    func validate() throws {
        if (tsaURL == nil) != (tsaCAFile == nil) {
            throw ValidationError("give both --tsa-url and --tsa-ca-file to time-stamp receipts, or neither")
        }
        if let tsaURL, !(tsaURL.hasPrefix("http://") || tsaURL.hasPrefix("https://")) {
            throw ValidationError("--tsa-url must be an http:// or https:// URL")
        }
        guard tsaRetryInterval > 0 && tsaRetryInterval <= 600 else {
            throw ValidationError("--tsa-retry-interval must be more than 0 and at most 600 seconds")
        }
        guard uploadExpiryDays > 0 else { throw ValidationError("--upload-expiry-days must be more than 0") }
        guard maxUploadsInFlight >= 1, maxBytesInFlight >= 0, maxItemsPerBatch >= 1 else {
            throw ValidationError("--max-uploads-in-flight and --max-items-per-batch must be at least 1, --max-bytes-in-flight not negative")
        }
        guard enrolFailuresPerMinute >= 1 else { throw ValidationError("--enrol-failures-per-minute must be at least 1") }
        for (name, value) in [("--header-timeout", headerTimeout), ("--read-timeout", readTimeout), ("--idle-timeout", idleTimeout)]
        where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(name) must be more than 0 and at most 86400 seconds")
        }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ValidationError("give both --tls-cert and --tls-key for HTTPS, or neither")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard maxUploadSize >= 0 else { throw ValidationError("--max-upload-size must not be negative") }
    }

    func run() async throws {
        // An upload to an object store holds a part (8 MiB) in memory until it is sent; glibc
        // would keep each freed part in the thread's arena and raise its mmap threshold past
        // them, so the server's memory grew by a part at a time over a long sync (to 133 MB).
        // Mapped on their own, freed parts go back to the system at once.
        _ = fieldgate_map_large_blocks(1 << 20)
        var configuration = ServerConfiguration(dataDirectory: data.dataURL, host: host, port: port,
                                                tlsCertificatePath: tlsCertificate, tlsKeyPath: tlsKey,
                                                maxUploadSize: maxUploadSize)
        configuration.enrolmentFailuresPerMinute = enrolFailuresPerMinute
        configuration.quotas.abandonedUploadExpiry = uploadExpiryDays * 86_400
        configuration.quotas.uploadsInFlight = maxUploadsInFlight
        configuration.quotas.bytesInFlight = maxBytesInFlight
        configuration.quotas.itemsPerManifest = maxItemsPerBatch
        configuration.connectionLimits = ConnectionLimits(
            headerTimeout: .milliseconds(Int64(headerTimeout * 1000)), readTimeout: .milliseconds(Int64(readTimeout * 1000)),
            idleTimeout: .milliseconds(Int64(idleTimeout * 1000)), maxConnections: maxConnections ?? ConnectionLimits.defaultMaxConnections)
        let server: EvidenceServer
        do {
            if let tsaURL, let tsaCAFile {
                var authority = TimestampAuthorityConfiguration(url: tsaURL, certificatesPEM: try Self.certificates(in: tsaCAFile))
                authority.retryInterval = .milliseconds(Int64(tsaRetryInterval * 1000))
                configuration.timestampAuthority = authority
            }
            configuration.database = try data.databaseLocation()
            configuration.blobs = try data.blobLocation()
            configuration.serverKeyFile = data.serverKeyURL
            configuration.instanceName = instance
            server = try await EvidenceServer(configuration: configuration)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        let scheme = tlsCertificate == nil ? "http" : "https"
        let host = configuration.host
        do {
            try await server.run(handlingShutdownSignals: true) { port in
                emitLine("fieldgate-server listening on \(scheme)://\(host):\(port)")
            }
        } catch let error as ServerSetupError {
            // Before listening: the database is unreachable, refuses the password, or is newer;
            // or the blob store is unreachable or refuses the credentials.
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }

    /// The PEM certificates of `path`, refused when it holds none.
    static func certificates(in path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read --tsa-ca-file \(path)")
        }
        guard text.contains("-----BEGIN CERTIFICATE-----") && text.contains("-----END CERTIFICATE-----") else {
            throw ValidationError("--tsa-ca-file \(path) holds no PEM certificate")
        }
        return text
    }
}
