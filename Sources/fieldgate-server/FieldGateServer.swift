import ArgumentParser
import Foundation
import Server

@main
struct FieldGateServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldgate-server",
        abstract: "The central evidence server: gateways enrol, upload evidence over tus and get signed receipts.",
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

/// Writes a line and flushes at once, so a process reading the pipe sees it now.
func emitLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
