import ArgumentParser
import Server

@main
struct FieldGateServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fieldgate-server", abstract: "The central evidence server.")
}
