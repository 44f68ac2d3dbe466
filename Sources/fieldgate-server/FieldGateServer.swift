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
        subcommands: [ServeCommand.self, GatewaysCommand.self]
    )
}

/// The data folder; shared by every command.
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
}
