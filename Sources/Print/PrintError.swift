/// Why a document was not printed. Each names the template, field, file or printer, and
/// says what to do next. Nothing is recorded as printed after any of these.
public enum PrintError: Error, Sendable, Equatable, CustomStringConvertible {
    case badTemplate(String, String)
    case unknownTemplate(String, [String])
    /// The input file, and every problem with its fields.
    case invalidData(String, [FieldProblem])
    case encoding(String, String)
    /// The printer, and what was looked for.
    case absent(String, String)
    case noAccess(String, String)
    case refused(String, String)
    case timedOut(String, String)

    public var description: String {
        switch self {
        case .badTemplate(let path, let reason):
            "template \(path): \(reason) (fix the file; see README: Templates)"
        case .unknownTemplate(let name, let known):
            "no template named \"\(name)\"; known: \(known.isEmpty ? "none (is devices/documents/ installed?)" : known.joined(separator: ", "))"
        case .invalidData(let source, let problems):
            "\(source): \(problems.count) problem(s), nothing printed:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
        case .encoding(let text, let reason):
            "cannot encode \"\(text)\" for the printer: \(reason)"
        case .absent(let printer, let detail):
            "printer \(printer) is not there: \(detail); switch it on, pair or plug it in, then print again (nothing was recorded)"
        case .noAccess(let printer, let detail):
            "printer \(printer) cannot be opened: \(detail) (nothing was recorded)"
        case .refused(let printer, let detail):
            "printer \(printer) refused the job: \(detail); check paper and cover, then print again (nothing was recorded as printed)"
        case .timedOut(let printer, let detail):
            "printer \(printer) timed out: \(detail); check that it is on and in range, then print again (nothing was recorded as printed)"
        }
    }

    var templatePath: String? {
        if case .badTemplate(let path, _) = self { return path }
        return nil
    }
}
