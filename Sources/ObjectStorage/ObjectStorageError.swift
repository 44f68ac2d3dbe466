import Foundation

/// What went wrong talking to an S3-compatible store; the message names the call and the key.
public enum ObjectStorageError: Error, CustomStringConvertible, Equatable {
    /// The store answered with an S3 error (`<Error><Code>…`), or an unexpected status.
    case refused(operation: String, status: Int, code: String, message: String)
    /// The store could not be reached or the exchange broke off.
    case unreachable(operation: String, reason: String)
    /// The store answered something this client cannot read.
    case malformedAnswer(operation: String, reason: String)
    /// The configuration (endpoint, bucket, credentials, part size) cannot be used.
    case configuration(String)

    public var description: String {
        switch self {
        case .refused(let operation, let status, let code, let message):
            "object store refused \(operation): HTTP \(status) \(code)\(message.isEmpty ? "" : ": \(message)")"
        case .unreachable(let operation, let reason): "object store unreachable for \(operation): \(reason)"
        case .malformedAnswer(let operation, let reason): "object store's answer to \(operation) is not understood: \(reason)"
        case .configuration(let message): message
        }
    }

    /// The S3 error code, when the store named one.
    public var code: String? {
        if case .refused(_, _, let code, _) = self { return code }
        return nil
    }
}

/// The few elements of S3's XML answers this client reads. S3's answers are flat documents
/// whose elements never nest inside one of the same name, so a scan for `<Name>…</Name>` is
/// enough, and it needs no XML library at run time.
enum S3XML {
    /// The inner text of every `<name>` element (attributes allowed), in document order.
    static func elements(_ name: String, in text: Substring) -> [Substring] {
        var found: [Substring] = []
        var rest = text[...]
        let close = "</\(name)>"
        while let open = rest.range(of: "<\(name)") {
            let afterName = open.upperBound
            guard afterName < rest.endIndex else { break }
            let next = rest[afterName]
            guard next == ">" || next == " " || next == "/" else { rest = rest[afterName...]; continue }
            guard let tagEnd = rest[afterName...].firstIndex(of: ">") else { break }
            if rest[rest.index(before: tagEnd)] == "/" {  // <name/>: empty
                found.append(rest[tagEnd..<tagEnd])
                rest = rest[rest.index(after: tagEnd)...]
                continue
            }
            let contentStart = rest.index(after: tagEnd)
            guard let end = rest[contentStart...].range(of: close) else { break }
            found.append(rest[contentStart..<end.lowerBound])
            rest = rest[end.upperBound...]
        }
        return found
    }

    /// The decoded text of the first `<name>` element.
    static func value(_ name: String, in text: Substring) -> String? {
        elements(name, in: text).first.map { decode($0) }
    }

    /// Text with XML's entities and character references replaced.
    static func decode(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var decoded = ""
        var rest = text[...]
        while let amp = rest.firstIndex(of: "&") {
            decoded += rest[..<amp]
            guard let semicolon = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "amp": decoded += "&"
            case "lt": decoded += "<"
            case "gt": decoded += ">"
            case "quot": decoded += "\""
            case "apos": decoded += "'"
            default:
                let number = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                    : entity.hasPrefix("#") ? UInt32(entity.dropFirst(1)) : nil
                if let scalar = number.flatMap(Unicode.Scalar.init) {
                    decoded.unicodeScalars.append(scalar)
                } else {
                    decoded += "&\(entity);"
                }
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return decoded + rest
    }

    /// Text made safe inside an element.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// S3's timestamps (`2026-12-03T09:26:12.000Z`, fractions optional).
    static func date(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return withFraction.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
