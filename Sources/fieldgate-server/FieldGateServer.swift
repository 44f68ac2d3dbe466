import ArgumentParser
import Common
import Console
import Foundation
import Server

@main
struct FieldGateServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldgate-server",
        abstract: "The central evidence server: gateways enrol, upload evidence over tus and get signed receipts.",
        version: fieldgateVersion,
        subcommands: [ServeCommand.self, GatewaysCommand.self, UsersCommand.self, AccessLogCommand.self, RetentionCommand.self, ExportCommand.self, ExportsCommand.self, ImportBundleCommand.self, ImportsCommand.self,
                      MigrateCommand.self]
    )
}

/// The data folder, the database and the blob store; shared by every command.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The server's data folder: server.sqlite, blobs/, uploads/, server-key. Default: $FIELDGATE_SERVER_DATA, else /var/lib/fieldgate-server.",
                               valueName: "dir"))
    var data: String?

    var dataURL: URL {
        if let data { return URL(fileURLWithPath: data) }
        if let data = ProcessInfo.processInfo.environment["FIELDGATE_SERVER_DATA"], !data.isEmpty {
            return URL(fileURLWithPath: data)
        }
        return URL(fileURLWithPath: "/var/lib/fieldgate-server")
    }

    @Option(help: ArgumentHelp("Where the records go: postgres://USER@HOST:PORT/DB (its password from $PGPASSWORD or --database-password-file, never in the URL). Default: $FIELDGATE_SERVER_DATABASE, else server.sqlite in --data.",
                               valueName: "url"))
    var database: String?

    @Option(help: ArgumentHelp("A file whose first line is the PostgreSQL password; instead of $PGPASSWORD.", valueName: "file"))
    var databasePasswordFile: String?

    @Option(help: ArgumentHelp("Where blobs and uploads in progress go: s3://BUCKET[/PREFIX] on an S3-compatible store (credentials from $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY, region from $AWS_REGION; never on the command line). Default: $FIELDGATE_SERVER_BLOBS, else blobs/ and uploads/ in --data.",
                               valueName: "url"))
    var blobs: String?

    @Option(name: .customLong("s3-endpoint"),
            help: ArgumentHelp("The S3 store's address, e.g. http://127.0.0.1:8333 (path-style requests). Default: $FIELDGATE_SERVER_S3_ENDPOINT, else AWS's endpoint for $AWS_REGION.",
                               valueName: "url"))
    var s3Endpoint: String?

    @Option(name: .customLong("s3-part-size"),
            help: ArgumentHelp("The size of an upload's S3 parts, e.g. 8M or 64M (5M to 5G); one part per upload in progress is held in memory. Raised for an upload that would need more than 9,990 parts. Default: 8M.",
                               valueName: "size"))
    var s3PartSize: String?

    @Option(name: .customLong("server-key"),
            help: ArgumentHelp("A file holding the receipt-signing key (raw 32-byte Ed25519), instead of the one kept in the database (PostgreSQL) or in --data (server-key). Refused unless it is the key gateways pinned; on a database without a key yet, only its public half is kept and every start needs this file. Default: $FIELDGATE_SERVER_KEY.",
                               valueName: "file"))
    var serverKey: String?

    /// The `--server-key` file, if one is given.
    var serverKeyURL: URL? {
        let path = serverKey ?? ProcessInfo.processInfo.environment["FIELDGATE_SERVER_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        return path.map { URL(fileURLWithPath: $0) }
    }

    /// The blob store the options name; a malformed URL or missing credential is an error saying what to give.
    func blobLocation() throws -> BlobLocation {
        let environment = ProcessInfo.processInfo.environment
        var partSize: Int?
        if let s3PartSize {
            guard let parsed = ByteCount.parse(s3PartSize) else {
                throw ValidationError("--s3-part-size \(s3PartSize): give a size such as 8M, 64M or 1G")
            }
            partSize = Int(parsed)
        }
        return try BlobLocation.parse(blobs ?? environment["FIELDGATE_SERVER_BLOBS"],
                                      endpoint: s3Endpoint ?? environment["FIELDGATE_SERVER_S3_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 },
                                      partSize: partSize, environment: environment)
    }

    /// The database the options name; a malformed URL or unreadable password file is an error saying what to give.
    func databaseLocation() throws -> DatabaseLocation {
        let environment = ProcessInfo.processInfo.environment
        return try DatabaseLocation.parse(database ?? environment["FIELDGATE_SERVER_DATABASE"], passwordFile: databasePasswordFile,
                                          environment: environment)
    }
}
