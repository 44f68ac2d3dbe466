import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ObjectStorage

/// How to run an ``EvidenceServer``.
public struct ServerConfiguration: Sendable {
    /// Holds `server.sqlite`, `blobs/`, `uploads/` and `server-key`; created when absent.
    public var dataDirectory: URL
    public var host: String
    /// 0 picks a free port; `run(onReady:)` reports the real one.
    public var port: Int
    /// PEM certificate chain and private key; both or neither.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// The largest blob a tus upload may announce, in bytes.
    public var maxUploadSize: Int64
    /// What the server logs (to stderr): `.info` by default; an embedding program may want less.
    public var logLevel: Logger.Level = .info
    /// Where the records are kept: SQLite in the data folder unless a PostgreSQL database is given.
    public var database = DatabaseLocation.dataFolder
    /// Where blobs and uploads in progress are kept: the data folder unless an S3 bucket is given.
    public var blobs = BlobLocation.dataFolder
    /// A file holding the receipt-signing key (raw 32 bytes), instead of the one the database
    /// or data folder keeps; refused unless it is the key gateways pinned.
    public var serverKeyFile: URL?
    /// This instance's name in answers' `Fieldgate-Instance` header and in `/metrics`; nil for
    /// the host name and bound port.
    public var instanceName: String?
    /// Per-gateway limits and the expiry of abandoned uploads.
    public var quotas = UploadQuotas()
    /// What "now" is for uploads' timestamps and expiry; a test moves it.
    public var clock = ServerClock()
    /// How often abandoned uploads are looked for (also once at start).
    public var sweepInterval: Duration = .seconds(3600)
    /// Failed enrolments one client address may make in a minute before it is refused (429).
    public var enrolmentFailuresPerMinute = 10
    /// Timeouts against stalled and idle clients, and the connection cap.
    public var connectionLimits = ConnectionLimits()
    /// An RFC 3161 time-stamping authority to stamp every receipt; nil for none.
    public var timestampAuthority: TimestampAuthorityConfiguration?

    /// 64 GiB: more than any body-camera recording.
    public static let defaultMaxUploadSize: Int64 = 64 << 30

    public init(dataDirectory: URL, host: String = "127.0.0.1", port: Int = 8080, tlsCertificatePath: String? = nil,
                tlsKeyPath: String? = nil, maxUploadSize: Int64 = defaultMaxUploadSize) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.maxUploadSize = maxUploadSize
    }
}

/// The central evidence server: enrols gateways, takes signed batch manifests, receives blobs
/// over tus, and answers commits with receipts signed by its own key.
public final class EvidenceServer: Sendable {
    public let configuration: ServerConfiguration
    let context: ServerContext
    let tlsConfiguration: TLSConfiguration?

    /// Opens (creating when needed) the data folder, reaches the database (migrating it when
    /// needed), takes the key (creating it on first start), and reads the TLS files.
    public init(configuration: ServerConfiguration) async throws {
        self.configuration = configuration
        let tlsConfiguration = try Self.tls(certificate: configuration.tlsCertificatePath, key: configuration.tlsKeyPath)
        let folder = try DataFolder(configuration.dataDirectory)
        let repository = try folder.repository(for: configuration.database)
        try await repository.prepare()
        let signingKey = SigningKey(try await folder.serverKey(for: repository, override: configuration.serverKeyFile))
        let metrics = ServerMetrics.shared
        let (blobs, staging) = try folder.blobStorage(for: configuration.blobs)
        context = ServerContext(repository: repository, blobs: blobs,
                                staging: staging, signingKey: signingKey,
                                authenticator: GatewayAuthenticator(repository: repository, metrics: metrics, clock: configuration.clock), metrics: metrics,
                                maxUploadSize: configuration.maxUploadSize, uploadLocks: repository.makeUploadLocks(), digests: UploadDigests(),
                                quotas: configuration.quotas, clock: configuration.clock,
                                enrolmentThrottle: EnrolmentThrottle(limit: configuration.enrolmentFailuresPerMinute),
                                timestamper: configuration.timestampAuthority.map {
                                    ReceiptTimestamper(authority: $0, repository: repository, metrics: metrics, clock: configuration.clock)
                                },
                                consoleSignIn: ConsoleSignIn(repository: repository, clock: configuration.clock),
                                consolePages: ConsolePages())
        self.tlsConfiguration = tlsConfiguration
    }

    /// Deletes uploads nobody wrote to for `quotas.abandonedUploadExpiry`, with their part
    /// files (and part files as old without any upload), and prunes completed uploads' rows
    /// older than `quotas.completedUploadRetention`.
    /// Runs at start and every `sweepInterval`; callable any time.
    @discardableResult
    public func sweep(logger: Logger? = nil) async throws -> SweepSummary {
        let now = context.clock.now()
        let abandonedBefore = now.addingTimeInterval(-context.quotas.abandonedUploadExpiry)
        let (expired, pruned) = try await context.repository.sweepUploads(
            abandonedBefore: abandonedBefore,
            completedBefore: now.addingTimeInterval(-context.quotas.completedUploadRetention))
        for uploadId in expired {
            await context.staging.remove(uploadId)
            context.digests.forget(uploadId)
        }
        // Staging without its row (a part file an older server left, or a multipart upload whose
        // row a crash kept from being written) is removed once it is as old as an abandoned upload.
        var orphans = 0
        for uploadId in try await context.staging.staged(writtenBefore: abandonedBefore) where try await context.repository.upload(id: uploadId) == nil {
            await context.staging.remove(uploadId)
            orphans += 1
        }
        _ = try await context.repository.deleteConsoleSessions(lastSeenBefore: now.addingTimeInterval(-ConsolePolicy.idleTimeout),
                                                               createdBefore: now.addingTimeInterval(-ConsolePolicy.lifetime))
        if !expired.isEmpty || pruned > 0 || orphans > 0 {
            logger?.info("expired \(expired.count) abandoned upload(s), pruned \(pruned) completed upload row(s), removed \(orphans) part file(s) without an upload")
        }
        return SweepSummary(expiredUploads: expired.count, prunedUploads: pruned, orphanedParts: orphans)
    }

    /// The server's Ed25519 public key, raw 32 bytes, which verifies its receipts.
    public var publicKey: Data { context.signingKey.publicKey.rawRepresentation }

    /// Checks the blob store, completes what a crash interrupted (uploads with every byte but no blob), then serves
    /// until the task is cancelled (or, with `handlingShutdownSignals`, until SIGINT or
    /// SIGTERM), then shuts down gracefully.
    /// - Parameter onReady: called once listening, with the bound port (the real one when the
    ///   configuration asked for port 0).
    public func run(handlingShutdownSignals: Bool = false, onReady: @escaping @Sendable (Int) async -> Void) async throws {
        var logger = Logger(label: "fieldgate-server")
        logger.logLevel = configuration.logLevel
        if case .s3(let location) = configuration.blobs {
            do {
                try await S3Client(bucket: location.bucket, credentials: location.credentials).checkBucket()
            } catch {
                throw ServerSetupError("cannot use the blob store \(location.displayURL): \(error)")
            }
        }
        try await context.completion.recoverInterrupted(locks: context.uploadLocks, logger: logger)
        try await sweep(logger: logger)
        let sweeper = Task { [interval = configuration.sweepInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                _ = try? await sweep(logger: logger)
            }
        }
        defer { sweeper.cancel() }
        let stamper = Task { [timestamper = context.timestamper] in await timestamper?.run(logger: logger) }
        defer { stamper.cancel() }
        let router = Router(context: ServerRequestContext.self)
        let instance = InstanceName(configuration.instanceName ?? InstanceName.defaultName(port: configuration.port))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: InstanceHeaderMiddleware(instance: instance))
        router.add(middleware: ErrorBodyMiddleware())
        OperationalRoutes(context: context).register(on: router)
        EnrollRoutes(context: context).register(on: router)
        BatchRoutes(context: context).register(on: router)
        UploadRoutes(context: context).register(on: router)
        EvidenceRoutes(context: context).register(on: router)
        ConsoleRoutes(context: context).register(on: router)
        let limits = configuration.connectionLimits
        let registry = ConnectionRegistry(limit: limits.maxConnections, metrics: context.metrics)
        let connectionLogger = logger
        let http1 = HTTP1Channel.Configuration(additionalChannelHandlers: [
            ConnectionGuard(limits: limits, registry: registry, logger: connectionLogger), ExpectContinueHandler(),
        ])
        let application = Application(
            router: router,
            server: try tlsConfiguration.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) } ?? .http1(configuration: http1),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "fieldgate-server"),
            onServerRunning: { [metrics = context.metrics, named = configuration.instanceName] channel in
                let port = channel.localAddress?.port ?? 0
                if named == nil { instance.set(InstanceName.defaultName(port: port)) }
                metrics.announce(instance: instance.value)
                await onReady(port)
            },
            logger: logger
        )
        if handlingShutdownSignals {
            try await application.runService()
        } else {
            try await application.run()
        }
    }

    private static func tls(certificate: String?, key: String?) throws -> TLSConfiguration? {
        switch (certificate, key) {
        case (nil, nil):
            return nil
        case (.some, nil), (nil, .some):
            throw ServerSetupError("TLS needs both a certificate (--tls-cert) and its private key (--tls-key)")
        case (let certificate?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate)
                let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
                return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                privateKey: .privateKey(privateKey))
            } catch {
                throw ServerSetupError("cannot load TLS certificate \(certificate) or key \(key): \(error)")
            }
        }
    }
}

/// The server's data folder and what lives in it.
struct DataFolder {
    let root: URL
    var database: URL { root.appendingPathComponent("server.sqlite") }
    var blobs: URL { root.appendingPathComponent("blobs") }
    var uploads: URL { root.appendingPathComponent("uploads") }
    var key: URL { root.appendingPathComponent("server-key") }

    init(_ root: URL) throws {
        self.root = root
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw ServerSetupError("cannot create the data folder \(root.path): \(error.localizedDescription)")
        }
    }

    /// Where blobs and the bytes of uploads in progress go.
    func blobStorage(for location: BlobLocation) throws -> (any BlobStorage, any UploadStaging) {
        switch location {
        case .dataFolder:
            let blobs = try FolderBlobStorage(root: self.blobs)
            return (blobs, FolderUploadStaging(parts: try UploadParts(root: uploads), blobs: blobs))
        case .s3(let location):
            let blobs = ObjectBlobStorage(location: location)
            return (blobs, ObjectUploadStaging(location: location, blobs: blobs))
        }
    }

    /// The repository `database` names, not yet prepared (``EvidenceRepository/prepare()``).
    func repository(for database: DatabaseLocation) throws -> any EvidenceRepository {
        switch database {
        case .dataFolder: try openRepository()
        case .postgres(let location): PostgresEvidenceRepository(location: location)
        }
    }

    /// The repository `database` names, ready for use.
    func openRepository(_ database: DatabaseLocation) async throws -> any EvidenceRepository {
        let repository = try repository(for: database)
        try await repository.prepare()
        return repository
    }

    func openRepository() throws -> SQLiteEvidenceRepository {
        do {
            return try SQLiteEvidenceRepository(path: database.path)
        } catch {
            throw ServerSetupError("cannot open the server database \(database.path): \(error)")
        }
    }

    /// The key that signs receipts: kept by `repository` when it keeps keys (PostgreSQL, shared
    /// by instances), else in this folder; `override` is a `--server-key` file.
    func serverKey(for repository: any EvidenceRepository, override: URL?) async throws -> Curve25519.Signing.PrivateKey {
        if let store = repository.serverKeyStore {
            return try await ServerKey.resolve(store: store, override: override, legacyFile: key)
        }
        return try await ServerKey.resolve(store: FileServerKeyStore(url: key), override: override, legacyFile: nil)
    }
}
