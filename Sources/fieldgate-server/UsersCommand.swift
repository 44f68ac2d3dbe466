import ArgumentParser
import Common
import Console
import Foundation
import Server

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Add, list and disable the people who sign in to the web console, and reset their passwords. Works while the server runs.",
        discussion: """
            A password is never taken from the command line (where other users and the shell's \
            history would see it): it is asked twice on the terminal, or read as the first line of \
            standard input, e.g. `fieldgate-server users add wang --role reviewer < password-file`. \
            Roles: admin (people and settings, and all a reviewer does), reviewer (categorises, \
            binds to cases, shares), auditor (access log and reports), viewer (finds and views).
            """,
        subcommands: [Add.self, List.self, SetRole.self, Disable.self, ResetPassword.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a person with a role; the password is asked for (or read from standard input).")

        @Argument(help: "The name they sign in with: letters, digits, '.', '_' or '-', at most 64.")
        var name: String

        @Option(help: "admin, reviewer, auditor or viewer.")
        var role: ConsoleRole

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                let password = try PasswordInput.read(for: name)
                let user = try await ConsoleAccounts.add(name: name, role: role, password: password, dataDirectory: data.dataURL,
                                                         database: data.databaseLocation())
                print("console user \(user.name) added as \(user.role.rawValue)")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the console's people with their role and state.")

        @OptionGroup var data: DataOptions

        @Flag(help: "Print JSON instead of a table, for scripts.")
        var json = false

        func run() async throws {
            let users: [ConsoleUserRecord]
            do {
                users = try await ConsoleAccounts.list(dataDirectory: data.dataURL, database: data.databaseLocation())
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
            if json {
                print(try jsonString(users.map { Row(name: $0.name, role: $0.role.rawValue, disabled: $0.isDisabled, createdAt: $0.createdAt,
                                                     passwordChangedAt: $0.passwordChangedAt, disabledAt: $0.disabledAt) }))
                return
            }
            if users.isEmpty {
                print("no console users yet: add one with `fieldgate-server users add NAME --role admin`")
                return
            }
            var table = TextTable("NAME", "ROLE", "STATE", "ADDED", "PASSWORD SET")
            for user in users {
                table.add([user.name, user.role.rawValue, user.isDisabled ? "disabled" : "active", Timestamp.string(user.createdAt),
                           Timestamp.string(user.passwordChangedAt)])
            }
            print(table.render())
        }

        struct Row: Encodable {
            var name: String
            var role: String
            var disabled: Bool
            var createdAt: Date
            var passwordChangedAt: Date
            var disabledAt: Date?
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a person: they cannot sign in, and every session of theirs ends at once, even while the server runs."
        )

        @Argument(help: "The person's name, as `users list` shows it.")
        var name: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                try await ConsoleAccounts.disable(name: name, dataDirectory: data.dataURL, database: data.databaseLocation())
                print("console user \(name) disabled; their sessions have ended")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-role",
            abstract: "Give a person another role; their sessions end, so their next sign-in has the new role's pages."
        )

        @Argument(help: "The person's name, as `users list` shows it.")
        var name: String

        @Option(help: "admin, reviewer, auditor or viewer.")
        var role: ConsoleRole

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                try await ConsoleAccounts.setRole(name: name, role: role, dataDirectory: data.dataURL, database: data.databaseLocation())
                print("console user \(name) is now \(role.rawValue); their sessions have ended")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Give a person a new password (asked for, or read from standard input); their sessions end."
        )

        @Argument(help: "The person's name, as `users list` shows it.")
        var name: String

        @OptionGroup var data: DataOptions

        func run() async throws {
            do {
                let password = try PasswordInput.read(for: name)
                try await ConsoleAccounts.resetPassword(name: name, password: password, dataDirectory: data.dataURL, database: data.databaseLocation())
                print("console user \(name) has a new password; their sessions have ended")
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }
}

extension ConsoleRole: ExpressibleByArgument {}

/// A password from the terminal (asked twice, not echoed) or from standard input's first line.
enum PasswordInput {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func read(for name: String) throws -> String {
        if isatty(STDIN_FILENO) == 1 {
            let first = try ask("password for \(name): ")
            let second = try ask("the same password again: ")
            guard first == second else { throw Failure(description: "the two passwords differ; nothing was changed") }
            try ConsoleAccounts.checkPassword(first)
            return first
        }
        guard let line = Swift.readLine(strippingNewline: true) else {
            throw Failure(description: "no password on standard input: give it as the first line (or run this on a terminal to be asked)")
        }
        try ConsoleAccounts.checkPassword(line)
        return line
    }

    /// Reads one line from the terminal with echo off, restoring the terminal however it ends.
    private static func ask(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw Failure(description: "cannot read the terminal's settings") }
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line = Swift.readLine(strippingNewline: true) else { throw Failure(description: "no password given") }
        return line
    }
}
