import Foundation
import Print
import PrintoutText
import TestSupport
import TextCodecs
import XCTest

/// Templates, validation, layout and ESC/POS, checked by reading the bytes back.
final class DocumentTests: XCTestCase {
    static let templates = ["on-the-spot-penalty", "parking-notice", "minor-violation-commitment", "order-to-rectify"]
    let library = TemplateLibrary(catalogFolders: [repositoryRoot.appendingPathComponent("devices").path])

    func seed(_ name: String) throws -> Data {
        try Data(contentsOf: repositoryRoot.appendingPathComponent("seeds/documents/\(name).json"))
    }

    /// Text with spaces and line breaks removed, to compare wrapped output with the input.
    func squeezed(_ text: String) -> String { text.filter { !$0.isWhitespace } }

    func testEveryTemplateLoadsAndHasItsSample() throws {
        XCTAssertEqual(library.errors, [])
        XCTAssertEqual(library.names, Self.templates.sorted())
        for name in Self.templates {
            XCTAssertNoThrow(try Document(template: try library.template(named: name), data: try seed(name), source: name))
        }
    }

    func testEveryTemplateFitsBothPapersAndDecodesBackToItsInput() throws {
        for name in Self.templates {
            let template = try library.template(named: name)
            let input = try XCTUnwrap(JSONSerialization.jsonObject(with: try seed(name)) as? [String: Any])
            let document = try Document(template: template, data: try seed(name), source: name)
            for paper in PaperWidth.allCases {
                let lines = DocumentLayout.lines(of: document, paper: paper)
                for line in lines {
                    XCTAssertLessThanOrEqual(line.text.printerColumns, paper.columns, "\(name) \(paper): \(line.text)")
                    XCTAssertLessThanOrEqual(line.text.displayWidth, paper.columns, "\(name) \(paper): \(line.text)")
                }
                let caption = DocumentLayout.wrap(document.verificationId, columns: paper.columns)
                XCTAssertTrue(caption.allSatisfy { $0.printerColumns <= paper.columns }, "\(caption)")
                let bytes = try ESCPOS.encode(lines: lines, qrCode: document.verificationId, caption: caption)
                // The raw stream, read without our decoder: initialise, Chinese mode, GB18030 title, cut.
                XCTAssertEqual(Array(bytes.prefix(4)), [0x1B, 0x40, 0x1C, 0x26])
                XCTAssertEqual(Array(bytes.suffix(4)), [0x1D, 0x56, 66, 0])
                XCTAssertNotNil(find(try ChineseEncoding.gb18030.encode(template.title), in: bytes), "\(name): GB18030 title")
                let qrStore = [0x1D, 0x28, 0x6B] + littleEndian(3 + document.verificationId.utf8.count) + [0x31, 0x50, 0x30]
                    + Array(document.verificationId.utf8)
                XCTAssertNotNil(find(qrStore, in: bytes), "\(name): QR code data")

                // Read back by the reference decoder (Tests/escpos_decode.py), not the module's own.
                let printout = try IndependentPrintout(bytes: bytes)
                XCTAssertTrue(printout.initialisedFirst)
                XCTAssertEqual(printout.qrCodes, [.init(model: 2, moduleSize: 6, errorCorrection: "M", data: document.verificationId)])
                XCTAssertEqual(printout.cuts, [.init(partial: true, feed: 0)])
                XCTAssertFalse(printout.chineseModeAtEnd)
                XCTAssertEqual(Array(printout.texts.prefix(lines.count)), lines.map(\.text))
                XCTAssertEqual(Array(printout.texts.dropFirst(lines.count).prefix(caption.count)), caption)
                XCTAssertTrue(printout.lines.allSatisfy { $0.text.printerColumns <= paper.columns })
                for (line, laidOut) in zip(printout.lines, lines) {
                    XCTAssertEqual(line.bold, laidOut.bold, line.text)
                    XCTAssertEqual(line.height, laidOut.doubleHeight ? 2 : 1, line.text)
                    XCTAssertEqual(line.width, 1, line.text)
                    XCTAssertEqual(line.align, laidOut.alignment == .center ? "center" : "left", line.text)
                }
                let title = try XCTUnwrap(printout.lines.first { $0.text == template.title })
                XCTAssertTrue(title.bold && title.height == 2 && title.align == "center", "\(title)")
                XCTAssertEqual(try DecodedPrintout(bytes: bytes).lines.map(\.text), printout.texts,
                               "the module's decoder (previews) reads what the reference decoder reads")
                let printed = squeezed(printout.texts.joined())
                for (key, value) in input {
                    if let text = value as? String {
                        let shown = template.field(key)?.type == .text || template.field(key)?.type == .paragraph ? text : nil
                        if let shown { XCTAssertTrue(printed.contains(squeezed(shown)), "\(name) \(paper): \(key) \(shown) not printed") }
                    }
                    if let officers = value as? [[String: String]] {
                        for officer in officers {
                            XCTAssertTrue(printed.contains(officer["name"]!) && printed.contains(officer["certificate"]!), "\(name): officer")
                        }
                    }
                }
            }
        }
    }

    func testDatesTimesAndSumsArePrintedInChinese() throws {
        let document = try Document(template: try library.template(named: "on-the-spot-penalty"),
                                    data: try seed("on-the-spot-penalty"), source: "seed")
        let text = DocumentLayout.lines(of: document, paper: .mm80).map(\.text).joined(separator: "\n")
        XCTAssertTrue(text.contains("违法时间：2024年11月05日 14时10分"), text)
        XCTAssertTrue(text.contains("罚款金额（元）：200.00"), text)
        XCTAssertTrue(text.contains("向杭州市某区人民政府申请行政复议"), text)
    }

    func testSumsAreYuanWithAtMostTwoDecimals() throws {
        let template = try library.template(named: "on-the-spot-penalty")
        var input = try XCTUnwrap(JSONSerialization.jsonObject(with: try seed("on-the-spot-penalty")) as? [String: Any])
        for (fine, printed) in [("1", "1.00"), ("0.29", "0.29"), ("50.5", "50.50"), ("0", "0.00")] {
            let data = Data(String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self)
                .replacingOccurrences(of: "\"fine\":200", with: "\"fine\":\(fine)").utf8)
            let document = try Document(template: template, data: data, source: fine)
            XCTAssertEqual(document.values["fine"], printed)
        }
        for bad: Any in [true, -1, 0.125, "200"] {
            input["fine"] = bad
            XCTAssertThrowsError(try Document(template: template, data: try JSONSerialization.data(withJSONObject: input), source: "x")) { error in
                guard case PrintError.invalidData(_, let problems) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(problems.map(\.field), ["fine"], "\(bad)")
            }
        }
    }

    func testVerificationIdIsTheDocumentNumberAndTheContentHash() throws {
        let data = try seed("parking-notice")
        let document = try Document(template: try library.template(named: "parking-notice"), data: data, source: "seed")
        XCTAssertEqual(document.verificationId, "杭城管停〔2024〕000123号#" + document.contentSha256.prefix(16))
        XCTAssertEqual(document.contentSha256.count, 64)
        var changed = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        changed["place"] = "别处"
        let other = try Document(template: document.template, data: try JSONSerialization.data(withJSONObject: changed), source: "x")
        XCTAssertNotEqual(other.verificationId, document.verificationId)
    }

    func testEveryMissingOrBadFieldIsNamedAtOnce() throws {
        var input = try XCTUnwrap(JSONSerialization.jsonObject(with: try seed("parking-notice")) as? [String: Any])
        input["plate"] = nil
        input["handlingPlace"] = "  "
        input["time"] = "yesterday"
        input["deadline"] = "2024-02-30"
        input["officers"] = [["name": "张伟"]]
        input["colour"] = "red"
        let template = try library.template(named: "parking-notice")
        XCTAssertThrowsError(try Document(template: template, data: try JSONSerialization.data(withJSONObject: input), source: "notice.json")) { error in
            guard case PrintError.invalidData(let source, let problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(source, "notice.json")
            XCTAssertEqual(Set(problems.map(\.field)),
                           ["plate", "handlingPlace", "time", "deadline", "officers[0].certificate", "colour"])
            XCTAssertTrue("\(error)".contains("6 problem(s)"), "\(error)")
        }
        XCTAssertThrowsError(try Document(template: template, data: Data("[1]".utf8), source: "list.json"))
        var penalty = try XCTUnwrap(JSONSerialization.jsonObject(with: try seed("on-the-spot-penalty")) as? [String: Any])
        penalty["fine"] = -5
        penalty["officers"] = [["name": "张伟", "certificate": "33010020190001"]]
        XCTAssertThrowsError(try Document(template: try library.template(named: "on-the-spot-penalty"),
                                          data: try JSONSerialization.data(withJSONObject: penalty), source: "p.json")) { error in
            guard case PrintError.invalidData(_, let problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(Set(problems.map(\.field)), ["fine", "officers"])
        }
    }

    func testAnUnknownTemplateNamesTheKnownOnesAndABadTemplateNamesItsFile() throws {
        XCTAssertThrowsError(try library.template(named: "parking")) { error in
            XCTAssertTrue("\(error)".contains("no template named \"parking\"") && "\(error)".contains("parking-notice"), "\(error)")
        }
        let folder = try temporaryFolder(self)
        let documents = folder.appendingPathComponent("documents")
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
        try Data("""
            {"name": "broken", "title": "坏", "fields": [{"key": "documentNumber", "label": "编号"}],
             "body": [{"text": "见{nothing}"}]}
            """.utf8).write(to: documents.appendingPathComponent("broken.json"))
        let bureau = TemplateLibrary(catalogFolders: [repositoryRoot.appendingPathComponent("devices").path, folder.path])
        XCTAssertThrowsError(try bureau.template(named: "broken")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("broken.json") && text.contains("caseNumber") && text.contains("{nothing}"), text)
        }
        XCTAssertNoThrow(try bureau.template(named: "parking-notice"))
    }

    func testABureauFolderOverridesATemplateWithoutARebuild() throws {
        let folder = try temporaryFolder(self)
        let documents = folder.appendingPathComponent("documents")
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
        var text = try String(contentsOf: repositoryRoot.appendingPathComponent("devices/documents/parking-notice.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "逾期不接受处理的", with: "逾期未处理的")
        try Data(text.utf8).write(to: documents.appendingPathComponent("parking-notice.json"))
        let bureau = TemplateLibrary(catalogFolders: [repositoryRoot.appendingPathComponent("devices").path, folder.path])
        let document = try Document(template: try bureau.template(named: "parking-notice"), data: try seed("parking-notice"), source: "seed")
        XCTAssertTrue(squeezed(document.content).contains("逾期未处理的"))
    }

    func testWrappingNeverPassesTheWidthAndKeepsClosingPunctuationOffALineStart() {
        let samples = [
            "机动车在人行道上停放，妨碍行人通行。驾驶人不在现场，ABC-123456 号车辆；见《中华人民共和国道路交通安全法》第五十六条。",
            String(repeating: "很长的中文句子，", count: 20),
            "A very long ASCII word: " + String(repeating: "x", count: 100) + " and 中文，混排。",
            "，，，开头就是标点。",
        ]
        for columns in [32, 48] {
            for sample in samples {
                for indent in [0, 4, 10] {
                    let lines = DocumentLayout.wrap(sample, columns: columns, firstIndent: indent, hangingIndent: indent)
                    XCTAssertEqual(squeezed(lines.joined()), squeezed(sample))
                    for (number, line) in lines.enumerated() {
                        XCTAssertLessThanOrEqual(line.printerColumns, columns, line)
                        if number > 0, let first = line.first(where: { !$0.isWhitespace }) {
                            XCTAssertFalse("，。、；：）》".contains(first) && !sample.hasPrefix("，"), "\(columns): \(line)")
                        }
                    }
                }
            }
        }
    }

    func testTheDecoderRejectsBytesTheEncoderNeverSends() {
        XCTAssertThrowsError(try DecodedPrintout(bytes: [0x1B, 0x40, 0x1B, 0x7A, 0x00]))
        XCTAssertThrowsError(try DecodedPrintout(bytes: [0x1C, 0x26, 0xFF, 0xFF, 0x0A]))
        XCTAssertThrowsError(try DecodedPrintout(bytes: [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]))
        // Each refusal says where: the offset of the command that could not be read.
        for (bytes, offset) in [([0x1B, 0x40, 0x1B, 0x7A, 0x00], 2), ([0x41, 0x1D, 0x21], 1), ([0x41, 0x42, 0x07], 2),
                                ([0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30], 0)] as [([UInt8], Int)] {
            XCTAssertThrowsError(try DecodedPrintout(bytes: bytes)) { error in
                guard let refused = error as? PrintoutDecodingError else { return XCTFail("\(error)") }
                XCTAssertEqual(refused.offset, offset, "\(bytes)")
            }
        }
    }

    func testTheDecoderKeepsEachLinesStyleAndWhereQRCodesAndCutsCame() throws {
        let qrData = Array("D1#0123".utf8)
        let store = [0x1D, 0x28, 0x6B] + littleEndian(qrData.count + 3) + [0x31, 0x50, 0x30] + qrData
        let print: [UInt8] = [0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30]
        let bytes: [UInt8] = [0x1B, 0x40, 0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x11] + Array("Title".utf8) + [0x0A]
            + [0x1B, 0x40] + Array("body".utf8) + store + print + [0x1B, 0x64, 0x01, 0x1D, 0x56, 0x42, 0x00]
        let printout = try DecodedPrintout(bytes: bytes)
        XCTAssertEqual(printout.lines.map(\.text), ["Title", "body", ""])
        XCTAssertEqual(printout.lines.first.map { [$0.bold, $0.centered, $0.doubleHeight, $0.doubleWidth] }, [true, true, true, true])
        XCTAssertEqual(printout.lines[1].bold, false, "ESC @ resets the style")
        XCTAssertEqual(printout.qrCodes, ["D1#0123"])
        XCTAssertEqual(printout.cuts, 1)
        XCTAssertEqual(printout.marks.map(\.line), [2, 3], "shown before line 2 (after the body) and after the fed line")
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    private func littleEndian(_ value: Int) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
}

extension DocumentTests {
    func testATimeThatDoesNotFitBesideItsLabelStaysWholeOnTheNextLine() throws {
        let document = try Document(template: try library.template(named: "parking-notice"), data: try seed("parking-notice"), source: "seed")
        let lines = DocumentLayout.lines(of: document, paper: .mm58).map(\.text)
        let label = try XCTUnwrap(lines.firstIndex(of: "违法时间："), "\(lines)")
        XCTAssertEqual(lines[label + 1].trimmingCharacters(in: .whitespaces), "2024年11月05日 09时30分")
        XCTAssertTrue(DocumentLayout.lines(of: document, paper: .mm80).map(\.text).contains("违法时间：2024年11月05日 09时30分"))
    }
}
