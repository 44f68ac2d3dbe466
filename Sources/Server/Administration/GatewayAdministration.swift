import Foundation

/// Managing gateways in a data folder (and the database it uses, SQLite there by default), for
/// the `fieldgate-server gateways` commands and for programs that embed the server. Safe while
/// servers run on the same database: they read it on every request.
public enum GatewayAdministration {
    /// Creates an invited gateway and returns its one-time enrolment token (only its hash is kept).
    /// The server key is created first (or checked against `serverKey`, a `--server-key` file),
    /// so the key this gateway will pin exists before its token does.
    public static func add(name: String, dataDirectory: URL, database: DatabaseLocation = .dataFolder,
                           serverKey: URL? = nil) async throws -> String {
        guard !name.isEmpty, !name.contains(where: \.isNewline) else { throw AdministrationError.invalidName(name) }
        let folder = try DataFolder(dataDirectory)
        let repository = try await folder.openRepository(database)
        _ = try await folder.serverKey(for: repository, override: serverKey)
        let token = Credentials.randomSecret()
        _ = try await repository.createGateway(name: name, tokenHash: Credentials.hash(token))
        return token
    }

    /// Every gateway, by name.
    public static func list(dataDirectory: URL, database: DatabaseLocation = .dataFolder) async throws -> [GatewayRecord] {
        try await DataFolder(dataDirectory).openRepository(database).gateways()
    }

    /// Revokes a gateway: its next request is refused, and so is enrolling with its token.
    @discardableResult
    public static func revoke(name: String, dataDirectory: URL, database: DatabaseLocation = .dataFolder) async throws -> GatewayRecord {
        guard let gateway = try await DataFolder(dataDirectory).openRepository(database).revokeGateway(name: name) else {
            throw AdministrationError.unknownName(name)
        }
        return gateway
    }
}

public enum AdministrationError: Error, CustomStringConvertible, Equatable {
    case duplicateName(String)
    case unknownName(String)
    case invalidName(String)

    public var description: String {
        switch self {
        case .duplicateName(let name): "a gateway named \(name) exists already: choose another name, or revoke it first"
        case .unknownName(let name): "no gateway named \(name) (fieldgate-server gateways list shows them)"
        case .invalidName(let name): "\"\(name)\" cannot name a gateway: give a non-empty name on one line"
        }
    }
}
