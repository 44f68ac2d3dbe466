import Foundation

/// A printed document's wording and fields, read from a JSON file in a `documents/` folder of
/// the catalog (devices/documents/), so a bureau can change the wording without a rebuild.
public struct DocumentTemplate: Sendable, Equatable, Decodable {
    /// What a field holds, which decides how it is checked and printed.
    public enum FieldType: String, Sendable, Codable, CaseIterable {
        /// One line of text (wrapped if long): names, numbers, places.
        case text
        /// Longer text printed under its label: facts, legal basis.
        case paragraph
        /// "YYYY-MM-DD hh:mm", printed as 2024年11月05日 09时30分.
        case datetime
        /// "YYYY-MM-DD", printed as 2024年11月05日.
        case date
        /// A sum of money in yuan (a JSON number), printed with two decimals.
        case amount
        /// A list of officers: [{"name": …, "certificate": 执法证号}].
        case officers
    }

    public struct Field: Sendable, Equatable, Decodable {
        public var key: String
        public var label: String
        public var type: FieldType
        public var required: Bool
        /// For officers: how many at least (on-the-spot penalties need two).
        public var minimum: Int

        enum CodingKeys: String, CodingKey { case key, label, type, required, minimum }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            key = try container.decode(String.self, forKey: .key)
            label = try container.decode(String.self, forKey: .label)
            type = try container.decodeIfPresent(FieldType.self, forKey: .type) ?? .text
            required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? true
            minimum = try container.decodeIfPresent(Int.self, forKey: .minimum) ?? 1
        }
    }

    /// One piece of the printed page, in order.
    public enum Block: Sendable, Equatable, Decodable {
        /// Centred, bold, double height; `{key}` placeholders are filled in.
        case title(String)
        /// Centred text.
        case center(String)
        /// "label：value" (paragraph fields: the label, then the value below).
        case field(String)
        /// A paragraph of fixed wording with `{key}` placeholders, indented two characters.
        case text(String)
        /// "label：" followed by a line to sign on.
        case signature(String)
        /// "label：" followed by an empty box to press a finger in.
        case fingerprint(String)
        /// A line across the paper.
        case rule

        enum CodingKeys: String, CodingKey { case title, center, field, text, signature, fingerprint, rule }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard container.allKeys.count == 1, let key = container.allKeys.first else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "a block has exactly one of: title, center, field, text, signature, fingerprint, rule"))
            }
            switch key {
            case .title: self = .title(try container.decode(String.self, forKey: key))
            case .center: self = .center(try container.decode(String.self, forKey: key))
            case .field: self = .field(try container.decode(String.self, forKey: key))
            case .text: self = .text(try container.decode(String.self, forKey: key))
            case .signature: self = .signature(try container.decode(String.self, forKey: key))
            case .fingerprint: self = .fingerprint(try container.decode(String.self, forKey: key))
            case .rule: self = .rule
            }
        }
    }

    /// The file name without `.json`, e.g. "parking-notice"; what `--template` names.
    public var name: String
    /// The document's name as printed, e.g. 违法停车告知单.
    public var title: String
    public var fields: [Field]
    public var body: [Block]
    /// The file it was read from.
    public var path: String = ""

    enum CodingKeys: String, CodingKey { case name, title, fields, body }

    /// Every template must have these, so printouts can be bound to a case and verified.
    public static let requiredKeys = ["documentNumber", "caseNumber"]

    public func field(_ key: String) -> Field? { fields.first { $0.key == key } }

    /// Reads and checks one template file.
    public static func load(path: String) throws(PrintError) -> DocumentTemplate {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PrintError.badTemplate(path, "cannot be read")
        }
        var template: DocumentTemplate
        do {
            template = try JSONDecoder().decode(DocumentTemplate.self, from: data)
        } catch {
            throw PrintError.badTemplate(path, describe(error))
        }
        template.path = path
        let expected = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var problems: [String] = []
        if template.name != expected { problems.append("name \"\(template.name)\" must match the file name \"\(expected)\"") }
        let keys = template.fields.map(\.key)
        for key in requiredKeys where !keys.contains(key) { problems.append("fields: needs a field \"\(key)\"") }
        for key in Set(keys) where keys.filter({ $0 == key }).count > 1 { problems.append("fields: \"\(key)\" is declared twice") }
        for block in template.body {
            switch block {
            case .field(let key) where !keys.contains(key):
                problems.append("body: field \"\(key)\" is not declared in fields")
            case .title(let text), .center(let text), .text(let text):
                for key in placeholders(in: text) where !keys.contains(key) {
                    problems.append("body: placeholder {\(key)} is not declared in fields")
                }
            default: break
            }
        }
        guard problems.isEmpty else { throw PrintError.badTemplate(path, problems.joined(separator: "; ")) }
        return template
    }

    /// The `{key}` names in a piece of wording.
    static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }
}

func describe(_ error: Error) -> String {
    switch error {
    case DecodingError.keyNotFound(let key, let context):
        return "missing key \"\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))\""
    case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
         DecodingError.dataCorrupted(let context):
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return (path.isEmpty ? "" : "\(path): ") + context.debugDescription
    default:
        return String(describing: error)
    }
}

/// Where templates come from: the `documents/` folder of each catalog folder (the installed
/// catalog, `FIELDGATE_DEVICES`, `--devices`), later folders overriding earlier ones by name.
public struct TemplateLibrary: Sendable {
    public private(set) var templates: [String: DocumentTemplate] = [:]
    public private(set) var errors: [PrintError] = []

    public init(catalogFolders: [String]) {
        for folder in catalogFolders {
            let documents = URL(fileURLWithPath: folder).appendingPathComponent("documents")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: documents.path)) ?? []
            for name in names.sorted() where name.hasSuffix(".json") {
                do {
                    let template = try DocumentTemplate.load(path: documents.appendingPathComponent(name).path)
                    templates[template.name] = template
                } catch {
                    errors.append(error)
                }
            }
        }
    }

    public var names: [String] { templates.keys.sorted() }

    public func template(named name: String) throws(PrintError) -> DocumentTemplate {
        if let template = templates[name] { return template }
        if let error = errors.first(where: { $0.templatePath.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent == name } ?? false }) {
            throw error
        }
        throw PrintError.unknownTemplate(name, names)
    }
}
