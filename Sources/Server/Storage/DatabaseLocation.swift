import Foundation

/// Where the server keeps its records: SQLite in the data folder (the default, no setup) or a
/// PostgreSQL database that several server instances can share.
public enum DatabaseLocation: Sendable, Equatable {
    /// `server.sqlite` in the data folder.
    case dataFolder
    case postgres(PostgresLocation)

    /// Reads `--database`: nil or empty means the data folder; otherwise a
    /// `postgres://USER@HOST:PORT/DB` URL, whose password comes from `passwordFile` (its first
    /// line) or else `PGPASSWORD` in `environment`; a password inside the URL is refused, since
    /// command lines are visible to every user of the machine.
    public static func parse(_ url: String?, passwordFile: String? = nil,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseLocation {
        guard let url, !url.isEmpty else {
            if passwordFile != nil { throw DatabaseLocationError("--database-password-file needs a --database postgres:// URL") }
            return .dataFolder
        }
        var location = try PostgresLocation(url: url)
        if let passwordFile {
            location.password = try PostgresLocation.password(fromFile: passwordFile)
        } else if let password = environment["PGPASSWORD"], !password.isEmpty {
            location.password = password
        }
        return .postgres(location)
    }
}

/// A PostgreSQL database named by a `postgres://` URL, and the password to reach it with.
public struct PostgresLocation: Sendable, Equatable {
    /// How the connection is encrypted: libpq's `sslmode` names (`?sslmode=` in the URL).
    public enum TransportSecurity: String, Sendable, CaseIterable {
        case disable, prefer, require
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var security: TransportSecurity
    public var password: String?

    public init(user: String, host: String, port: Int = 5432, database: String, security: TransportSecurity = .prefer,
                password: String? = nil) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.security = security
        self.password = password
    }

    /// Parses `postgres://USER@HOST[:PORT]/DB[?sslmode=disable|prefer|require]` (also `postgresql://`).
    public init(url text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw DatabaseLocationError("--database \(text) is not a URL: give postgres://USER@HOST:PORT/DB")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw DatabaseLocationError("--database \(text): only postgres:// URLs are understood (the default, SQLite in --data, needs no --database)")
        }
        guard components.password == nil else {
            throw DatabaseLocationError("--database must not carry a password (it would show in the process list): put it in PGPASSWORD or a --database-password-file")
        }
        guard let user = components.user, !user.isEmpty else {
            throw DatabaseLocationError("--database \(Self.redacted(text)) names no user: give postgres://USER@HOST:PORT/DB")
        }
        guard let host = components.host, !host.isEmpty else {
            throw DatabaseLocationError("--database \(text) names no host: give postgres://USER@HOST:PORT/DB")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw DatabaseLocationError("--database \(text): the port must be 1...65535") }
        let database = String(components.path.dropFirst())
        guard !database.isEmpty, !database.contains("/") else {
            throw DatabaseLocationError("--database \(text) names no database (or more than one path part): give postgres://USER@HOST:PORT/DB")
        }
        var security = TransportSecurity.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode", let value = item.value.flatMap(TransportSecurity.init(rawValue:)) else {
                let modes = TransportSecurity.allCases.map(\.rawValue).joined(separator: ", ")
                throw DatabaseLocationError("--database \(text): the only parameter understood is sslmode (\(modes))")
            }
            security = value
        }
        self.init(user: user, host: host, port: port, database: database, security: security)
    }

    /// The URL without the password, for messages and logs.
    public var displayURL: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// The first line of `path`, the way libpq's password files hold one secret per line.
    static func password(fromFile path: String) throws -> String {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DatabaseLocationError("cannot read the database password file \(path): \(error.localizedDescription)")
        }
        let password = contents.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first
            .map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\r")) } ?? ""
        guard !password.isEmpty else { throw DatabaseLocationError("the database password file \(path) is empty") }
        return password
    }

    private static func redacted(_ text: String) -> String {
        text.replacingOccurrences(of: #"//[^@/]*@"#, with: "//…@", options: .regularExpression)
    }
}

/// A `--database` URL or password file that cannot be used; the message says what to give instead.
public struct DatabaseLocationError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ description: String) { self.description = description }
}
