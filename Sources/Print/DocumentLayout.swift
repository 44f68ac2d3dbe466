import TextCodecs

/// Paper a receipt printer takes, and how many columns of the printer's standard font fit
/// on a line (a Chinese character takes two).
public enum PaperWidth: Int, Sendable, Codable, CaseIterable {
    case mm58 = 58
    case mm80 = 80

    public var columns: Int { self == .mm58 ? 32 : 48 }
}

/// One printed line and how it is printed.
public struct PrintLine: Sendable, Equatable {
    public enum Alignment: UInt8, Sendable { case left = 0, center = 1 }
    public var text: String
    public var bold = false
    public var doubleHeight = false
    public var alignment: Alignment = .left

    public init(_ text: String, bold: Bool = false, doubleHeight: Bool = false, alignment: Alignment = .left) {
        self.text = text
        self.bold = bold
        self.doubleHeight = doubleHeight
        self.alignment = alignment
    }
}

/// Lays a document out for the paper: wraps by display width (CJK characters count two
/// columns), never past the paper's columns, and keeps closing punctuation off a line's start.
public enum DocumentLayout {
    struct Paragraph {
        enum Kind { case text, signature, fingerprint, rule }
        var text: String
        var kind: Kind = .text
        var bold = false
        var doubleHeight = false
        var alignment: PrintLine.Alignment = .left
        /// A value printed whole after the text: on the same line if it fits, else on the next.
        var keepWith: String?
        var firstIndent = 0
        var hangingIndent = 0

        var fullText: String { text + (keepWith ?? "") }
    }

    /// The document's blocks as unwrapped paragraphs.
    static func paragraphs(of document: Document) -> [Paragraph] {
        var paragraphs: [Paragraph] = []
        for block in document.template.body {
            switch block {
            case .title(let text):
                paragraphs.append(Paragraph(text: document.fill(text), bold: true, doubleHeight: true, alignment: .center))
            case .center(let text):
                paragraphs.append(Paragraph(text: document.fill(text), alignment: .center))
            case .text(let text):
                for line in document.fill(text).split(separator: "\n") {
                    paragraphs.append(Paragraph(text: String(line), firstIndent: 4))
                }
            case .field(let key):
                guard let field = document.template.field(key), let value = document.values[key] else { continue }
                let lines = value.split(separator: "\n").map(String.init)
                if field.type == .paragraph {
                    paragraphs.append(Paragraph(text: field.label + "：", bold: true))
                    for line in lines { paragraphs.append(Paragraph(text: line, firstIndent: 4)) }
                } else if [.datetime, .date, .amount].contains(field.type) {
                    paragraphs.append(Paragraph(text: field.label + "：", keepWith: value, hangingIndent: (field.label + "：").printerColumns))
                } else {
                    let indent = (field.label + "：").printerColumns
                    for (index, line) in lines.enumerated() {
                        paragraphs.append(Paragraph(text: index == 0 ? field.label + "：" + line : line,
                                                    firstIndent: index == 0 ? 0 : indent, hangingIndent: indent))
                    }
                }
            case .signature(let label):
                paragraphs.append(Paragraph(text: label + "：", kind: .signature))
            case .fingerprint(let label):
                paragraphs.append(Paragraph(text: label + "：", kind: .fingerprint))
            case .rule:
                paragraphs.append(Paragraph(text: "", kind: .rule))
            }
        }
        return paragraphs
    }

    /// The printed lines for `document` on `paper`; no line is wider than `paper.columns`.
    public static func lines(of document: Document, paper: PaperWidth) -> [PrintLine] {
        let columns = paper.columns
        var lines: [PrintLine] = []
        for paragraph in paragraphs(of: document) {
            switch paragraph.kind {
            case .rule:
                lines.append(PrintLine(String(repeating: "-", count: columns)))
            case .signature:
                lines.append(PrintLine(""))
                for text in wrap(paragraph.text, columns: columns) {
                    lines.append(PrintLine(text))
                }
                let last = lines.removeLast().text
                let room = columns - last.printerColumns
                lines.append(PrintLine(last + String(repeating: "_", count: max(room, 0))))
                lines.append(PrintLine(""))
            case .fingerprint:
                for text in wrap(paragraph.text, columns: columns) { lines.append(PrintLine(text)) }
                let inner = 14
                lines.append(PrintLine("+" + String(repeating: "-", count: inner) + "+", alignment: .center))
                for _ in 0..<5 { lines.append(PrintLine("|" + String(repeating: " ", count: inner) + "|", alignment: .center)) }
                lines.append(PrintLine("+" + String(repeating: "-", count: inner) + "+", alignment: .center))
            case .text where paragraph.keepWith != nil:
                let value = paragraph.keepWith ?? ""
                if paragraph.fullText.printerColumns <= columns {
                    lines.append(PrintLine(paragraph.fullText))
                } else {
                    lines.append(PrintLine(paragraph.text))
                    // Under the label, indented as far as the value allows, so it stays whole.
                    let indent = Swift.max(0, Swift.min(paragraph.hangingIndent, columns - value.printerColumns))
                    for text in wrap(value, columns: columns, firstIndent: indent, hangingIndent: indent) {
                        lines.append(PrintLine(text))
                    }
                }
            case .text:
                for text in wrap(paragraph.text, columns: columns, firstIndent: paragraph.firstIndent,
                                 hangingIndent: paragraph.hangingIndent) {
                    lines.append(PrintLine(text, bold: paragraph.bold, doubleHeight: paragraph.doubleHeight,
                                           alignment: paragraph.alignment))
                }
            }
        }
        return lines
    }

    /// Characters a line may not start with (避头): closing punctuation.
    static let noLineStart: Set<Character> = ["，", "。", "、", "；", "：", "？", "！", "）", "》", "」", "』", "〕", "】", "”", "’", ",", ".", ";", ":", ")", "!", "?"]

    /// Wraps `text` to `columns`, the first line indented by `firstIndent` spaces and the others
    /// by `hangingIndent`. ASCII words stay whole unless longer than a line.
    public static func wrap(_ text: String, columns: Int, firstIndent: Int = 0, hangingIndent: Int = 0) -> [String] {
        // Tokens: a CJK character alone, an ASCII word, or one space.
        var tokens: [String] = []
        var word = ""
        for character in text {
            if character.isASCII && !character.isWhitespace && !noLineStart.contains(character) {
                word.append(character)
                continue
            }
            if !word.isEmpty { tokens.append(word); word = "" }
            tokens.append(character.isWhitespace ? " " : String(character))
        }
        if !word.isEmpty { tokens.append(word) }

        var lines: [String] = []
        var current: [String] = []
        var indent = min(firstIndent, columns / 2)
        var width = indent
        func flush() {
            let line = String(repeating: " ", count: indent) + current.joined()
            lines.append(String(line.reversed().drop { $0 == " " }.reversed()))
            current = []
            indent = min(hangingIndent, columns / 2)
            width = indent
        }
        for token in tokens {
            let tokenWidth = token.printerColumns
            if width + tokenWidth <= columns {
                if token == " " && current.isEmpty && !lines.isEmpty { continue }
                current.append(token)
                width += tokenWidth
                continue
            }
            if token == " " { flush(); continue }
            if let first = token.first, noLineStart.contains(first), current.count > 1 {
                // Carry the last character down with the punctuation.
                let carried = current.removeLast()
                flush()
                current = [carried]
                width += carried.printerColumns
            } else if !current.isEmpty {
                flush()
            }
            // A word longer than a whole line is cut.
            var rest = Substring(token)
            while width + rest.printerColumns > columns {
                var piece = ""
                var pieceWidth = 0
                for character in rest {
                    let characterWidth = String(character).printerColumns
                    if width + pieceWidth + characterWidth > columns { break }
                    piece.append(character)
                    pieceWidth += characterWidth
                }
                if piece.isEmpty { break }
                current.append(piece)
                rest = rest.dropFirst(piece.count)
                flush()
            }
            if !rest.isEmpty {
                current.append(String(rest))
                width += rest.printerColumns
            }
        }
        if !current.isEmpty || lines.isEmpty { flush() }
        return lines
    }
}

extension StringProtocol {
    /// Columns on a receipt printer in Chinese mode: ASCII takes one, every other character is
    /// a double-byte GB18030 glyph and takes two (even where a terminal gives it one, like ·).
    public var printerColumns: Int {
        reduce(0) { $0 + ($1.isASCII ? 1 : Swift.max(2, String($1).displayWidth)) }
    }
}
