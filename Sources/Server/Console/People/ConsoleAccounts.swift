import Foundation
import HummingbirdBcrypt

/// Managing the console's people in a data folder (and the database it uses), for the
/// `fieldgate-server users` commands. Safe while servers run: they read the records on every
/// request, so a disabled user's next request is already refused.
public enum ConsoleAccounts {
    /// bcrypt's work factor: about a quarter of a second a hash on one core of this class.
    static let bcryptCost: UInt8 = 12
    /// bcrypt reads at most 72 bytes; a longer password would be silently cut.
    static let passwordBytes = 10...72

    /// Why `password` cannot be used, or nothing when it can.
    public static func checkPassword(_ password: String) throws {
        let bytes = password.utf8.count
        guard bytes >= passwordBytes.lowerBound else {
            throw ConsoleAccountError.weakPassword("it has \(bytes) bytes; give at least \(passwordBytes.lowerBound)")
        }
        guard bytes <= passwordBytes.upperBound else {
            throw ConsoleAccountError.weakPassword("it has \(bytes) bytes; bcrypt reads only \(passwordBytes.upperBound), so give at most that")
        }
        guard !password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ConsoleAccountError.weakPassword("it contains a control character (a NUL, tab or line break)")
        }
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.count)
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0) }
    }

    static func hash(_ password: String) -> String { Bcrypt.hash(password, cost: bcryptCost) }

    /// Adds a person with this role; the password is kept as its bcrypt hash only.
    @discardableResult
    public static func add(name: String, role: ConsoleRole, password: String, dataDirectory: URL,
                           database: DatabaseLocation = .dataFolder, now: Date = Date()) async throws -> ConsoleUserRecord {
        guard isValidName(name) else { throw ConsoleAccountError.invalidName(name) }
        try checkPassword(password)
        let repository = try await DataFolder(dataDirectory).openRepository(database)
        let user = try await repository.createConsoleUser(name: name, role: role, passwordHash: hash(password), at: now)
        try await log(repository, now).record(.userAdded, actor: commandActor(), address: "local", subject: name, detail: "role \(role.rawValue)")
        return user
    }

    private static func log(_ repository: any EvidenceRepository, _ now: Date) -> ConsoleAccessLog {
        ConsoleAccessLog(repository: repository, clock: { now })
    }

    /// Every person, by name.
    public static func list(dataDirectory: URL, database: DatabaseLocation = .dataFolder) async throws -> [ConsoleUserRecord] {
        try await DataFolder(dataDirectory).openRepository(database).consoleUsers()
    }

    /// Disables a person: they cannot sign in, and every session of theirs ends at once.
    @discardableResult
    public static func disable(name: String, dataDirectory: URL, database: DatabaseLocation = .dataFolder,
                               now: Date = Date()) async throws -> ConsoleUserRecord {
        let repository = try await DataFolder(dataDirectory).openRepository(database)
        guard let user = try await repository.disableConsoleUser(name: name, at: now) else {
            throw ConsoleAccountError.unknownName(name)
        }
        try await log(repository, now).record(.userDisabled, actor: commandActor(), address: "local", subject: name)
        return user
    }

    /// Gives a person another role; their sessions end, so the next sign-in has the new role.
    @discardableResult
    public static func setRole(name: String, role: ConsoleRole, dataDirectory: URL, database: DatabaseLocation = .dataFolder,
                               now: Date = Date()) async throws -> ConsoleUserRecord {
        let repository = try await DataFolder(dataDirectory).openRepository(database)
        guard let before = try await repository.consoleUser(name: name) else { throw ConsoleAccountError.unknownName(name) }
        guard let user = try await repository.setConsoleRole(name: name, role: role) else { throw ConsoleAccountError.unknownName(name) }
        try await log(repository, now).record(.roleChanged, actor: commandActor(), address: "local", subject: name,
                                              detail: "\(before.role.rawValue) to \(role.rawValue)")
        return user
    }

    /// Sets a new password; every session of the person ends (whoever knew the old one is out).
    @discardableResult
    public static func resetPassword(name: String, password: String, dataDirectory: URL, database: DatabaseLocation = .dataFolder,
                                     now: Date = Date()) async throws -> ConsoleUserRecord {
        try checkPassword(password)
        let repository = try await DataFolder(dataDirectory).openRepository(database)
        guard let user = try await repository.setConsolePassword(name: name, passwordHash: hash(password), at: now) else {
            throw ConsoleAccountError.unknownName(name)
        }
        try await log(repository, now).record(.passwordReset, actor: commandActor(), address: "local", subject: name)
        return user
    }
}
