import ArgumentParser
import Common
import Console
import Foundation
import Server

struct GatewaysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateways",
        abstract: "Add, list and revoke the gateways allowed to sync. Works while the server runs.",
        subcommands: [Add.self, List.self, Revoke.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite a gateway; prints its one-time enrolment token on the last line.",
            discussion: "Give the token to the gateway (fieldgate sync enrol). It works once; only its hash is stored."
        )

        @Argument(help: "A unique name for the gateway, e.g. the station it stands in.")
        var name: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                let token = try await GatewayAdministration.add(name: name, dataDirectory: data.dataURL, database: data.databaseLocation(),
                                                                serverKey: data.serverKeyURL)
                emitLine("gateway \(name) invited; its one-time enrolment token:")
                emitLine(token)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List gateways with their state (invited, active, revoked).")

        @OptionGroup var data: DataOptions

        @Flag(help: "Print JSON instead of a table, for scripts.")
        var json = false

        func run() async throws {
            let gateways: [GatewayRecord]
            do {
                gateways = try await GatewayAdministration.list(dataDirectory: data.dataURL, database: data.databaseLocation())
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            if json {
                let rows = gateways.map { Row(name: $0.name, id: $0.id, state: $0.state.rawValue, enrolledAt: $0.enrolledAt,
                                              lastSeenAt: $0.lastSeenAt) }
                print(try jsonString(rows))
                return
            }
            if gateways.isEmpty {
                print("no gateways yet: add one with `fieldgate-server gateways add NAME`")
                return
            }
            var table = TextTable("NAME", "ID", "STATE", "ENROLLED", "LAST SEEN")
            for gateway in gateways {
                table.add([gateway.name, gateway.id, gateway.state.rawValue, Self.format(gateway.enrolledAt), Self.format(gateway.lastSeenAt)])
            }
            print(table.render())
        }

        struct Row: Encodable {
            var name: String
            var id: String
            var state: String
            var enrolledAt: Date?
            var lastSeenAt: Date?
        }

        static func format(_ date: Date?) -> String {
            date.map(Timestamp.string) ?? "-"
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a gateway: its next request is refused (401), even while the server runs."
        )

        @Argument(help: "The gateway's name, as `gateways list` shows it.")
        var name: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                try await GatewayAdministration.revoke(name: name, dataDirectory: data.dataURL, database: data.databaseLocation())
                print("gateway \(name) revoked")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }
}
