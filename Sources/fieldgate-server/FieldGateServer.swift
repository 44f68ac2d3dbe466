import ArgumentParser
import Console
import Foundation
import Server

@main
struct FieldGateServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldgate-server",
        abstract: "The central evidence server: gateways enrol, upload evidence over tus and get signed receipts.",
        version: fieldgateVersion,
        subcommands: [ServeCommand.self, GatewaysCommand.self, ExportCommand.self, ExportsCommand.self, ImportBundleCommand.self, ImportsCommand.self]
    )
}

/// The data folder and the database; shared by every command.
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

    /// The database the options name; a malformed URL or unreadable password file is an error saying what to give.
    func databaseLocation() throws -> DatabaseLocation {
        let environment = ProcessInfo.processInfo.environment
        return try DatabaseLocation.parse(database ?? environment["FIELDGATE_SERVER_DATABASE"], passwordFile: databasePasswordFile,
                                          environment: environment)
    }
}
