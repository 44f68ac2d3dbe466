import Common
import Crypto
import Foundation

/// An officer named on a document, with the certificate number (执法证号) the law requires.
public struct DocumentOfficer: Sendable, Equatable, Codable {
    public var name: String
    public var certificate: String
}

/// One problem with a document's input data, naming the field.
public struct FieldProblem: Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var message: String
    public var description: String { "\(field): \(message)" }
}

/// A template filled with checked data: what gets laid out, printed and recorded.
public struct Document: Sendable, Equatable {
    public let template: DocumentTemplate
    /// Each field's printable text, by key (officers: one line per officer).
    public let values: [String: String]
    public let officers: [String: [DocumentOfficer]]
    /// The input, as given (kept with the printout).
    public let json: String

    public var documentNumber: String { values["documentNumber"] ?? "" }
    public var caseNumber: String { values["caseNumber"] ?? "" }

    /// Checks `data` (a JSON object) against the template; every missing, unknown or bad field
    /// is named at once.
    public init(template: DocumentTemplate, data: Data, source: String) throws(PrintError) {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw PrintError.invalidData(source, [FieldProblem(field: "(file)", message: "is not a JSON object")])
        }
        var problems: [FieldProblem] = []
        var values: [String: String] = [:]
        var officers: [String: [DocumentOfficer]] = [:]
        for key in object.keys.sorted() where template.field(key) == nil {
            problems.append(FieldProblem(field: key, message: "is not a field of template \(template.name) (fields: \(template.fields.map(\.key).joined(separator: ", ")))"))
        }
        for field in template.fields {
            let value = object[field.key]
            if value == nil || value is NSNull || (value as? String)?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty == true {
                if field.required { problems.append(FieldProblem(field: field.key, message: "missing (\(field.label))")) }
                continue
            }
            switch field.type {
            case .text, .paragraph:
                guard let text = value as? String else {
                    problems.append(FieldProblem(field: field.key, message: "must be text (\(field.label))"))
                    continue
                }
                if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) {
                    problems.append(FieldProblem(field: field.key, message: "has control characters"))
                    continue
                }
                values[field.key] = text
            case .datetime:
                guard let text = value as? String, let printed = Self.chineseDateTime(text) else {
                    problems.append(FieldProblem(field: field.key, message: "\(Self.show(value)) is not a time as YYYY-MM-DD hh:mm (\(field.label))"))
                    continue
                }
                values[field.key] = printed
            case .date:
                guard let text = value as? String, let printed = Self.chineseDate(text) else {
                    problems.append(FieldProblem(field: field.key, message: "\(Self.show(value)) is not a date as YYYY-MM-DD (\(field.label))"))
                    continue
                }
                values[field.key] = printed
            case .amount:
                // A JSON true/false is an NSNumber too (and `is Bool` holds for 0 and 1): tell it by its type code.
                guard let number = value as? NSNumber, String(cString: number.objCType) != "c", number.doubleValue >= 0,
                      number.doubleValue < 100_000_000,
                      abs(number.doubleValue * 100 - (number.doubleValue * 100).rounded()) < 1e-6 else {
                    problems.append(FieldProblem(field: field.key, message: "\(Self.show(value)) is not a sum in yuan such as 200 or 50.5 (\(field.label))"))
                    continue
                }
                values[field.key] = String(format: "%.2f", number.doubleValue)
            case .officers:
                guard let list = value as? [Any] else {
                    problems.append(FieldProblem(field: field.key, message: "must be a list of {\"name\": …, \"certificate\": …} (\(field.label))"))
                    continue
                }
                var parsed: [DocumentOfficer] = []
                for (index, item) in list.enumerated() {
                    let entry = item as? [String: Any] ?? [:]
                    let name = (entry["name"] as? String)?.trimmingCharacters(in: .whitespaces) ?? ""
                    let certificate = (entry["certificate"] as? String)?.trimmingCharacters(in: .whitespaces) ?? ""
                    if name.isEmpty { problems.append(FieldProblem(field: "\(field.key)[\(index)].name", message: "missing (姓名)")) }
                    if certificate.isEmpty {
                        problems.append(FieldProblem(field: "\(field.key)[\(index)].certificate", message: "missing (执法证号)"))
                    }
                    parsed.append(DocumentOfficer(name: name, certificate: certificate))
                }
                if list.count < field.minimum {
                    problems.append(FieldProblem(field: field.key, message: "needs at least \(field.minimum) officer(s), has \(list.count) (\(field.label))"))
                }
                officers[field.key] = parsed
                values[field.key] = parsed.map { "\($0.name)（执法证号 \($0.certificate)）" }.joined(separator: "\n")
            }
        }
        guard problems.isEmpty else { throw PrintError.invalidData(source, problems) }
        self.template = template
        self.values = values
        self.officers = officers
        json = String(decoding: data, as: UTF8.self)
    }

    /// The document's text, block by block and unwrapped: the same whatever the paper width,
    /// so it is what the verification id is computed over.
    public var content: String {
        DocumentLayout.paragraphs(of: self).map(\.fullText).joined(separator: "\n")
    }

    /// SHA-256 of `content`, lower-case hex.
    public var contentSha256: String {
        SHA256.hash(data: Data(content.utf8)).hexString
    }

    /// What the QR code carries: the document number, then the first 16 hex digits of the
    /// SHA-256 of the content, so a printout can be checked against the stored record.
    public var verificationId: String { "\(documentNumber)#\(contentSha256.prefix(16))" }

    /// Fills `{key}` placeholders with the fields' printable values.
    func fill(_ text: String) -> String {
        var result = text
        for (key, value) in values { result = result.replacingOccurrences(of: "{\(key)}", with: value) }
        for key in DocumentTemplate.placeholders(in: result) where template.field(key) != nil {
            result = result.replacingOccurrences(of: "{\(key)}", with: "")
        }
        return result
    }

    private static func show(_ value: Any?) -> String {
        if let text = value as? String { return "\"\(text)\"" }
        return value.map { "\($0)" } ?? "null"
    }

    private static func digits(_ text: Substring) -> Int? { text.allSatisfy(\.isASCII) ? Int(text) : nil }

    static func chineseDate(_ text: String) -> String? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.count == 10, parts.count == 3, let year = digits(parts[0]), let month = digits(parts[1]),
              let day = digits(parts[2]), parts[0].count == 4, parts[1].count == 2, parts[2].count == 2 else { return nil }
        var components = DateComponents(calendar: Calendar(identifier: .gregorian), year: year, month: month, day: day)
        components.timeZone = TimeZone(identifier: "UTC")
        guard components.isValidDate else { return nil }
        return "\(year)年\(parts[1])月\(parts[2])日"
    }

    static func chineseDateTime(_ text: String) -> String? {
        let halves = text.split(separator: " ")
        guard halves.count == 2, let date = chineseDate(String(halves[0])) else { return nil }
        let time = halves[1].split(separator: ":", omittingEmptySubsequences: false)
        guard halves[1].count == 5, time.count == 2, let hour = digits(time[0]), let minute = digits(time[1]),
              (0..<24).contains(hour), (0..<60).contains(minute) else { return nil }
        return "\(date) \(time[0])时\(time[1])分"
    }
}
