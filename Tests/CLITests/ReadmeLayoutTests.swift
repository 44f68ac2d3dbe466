import Foundation
import TestSupport
import XCTest

/// The README's layout table is how a newcomer finds a concept by its folder: it names every
/// folder under Sources/ and nothing that is not there.
final class ReadmeLayoutTests: XCTestCase {
    func testTheLayoutTableNamesExactlyTheFoldersUnderSources() throws {
        let readme = try String(contentsOf: repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try XCTUnwrap(readme.components(separatedBy: "\n## Layout\n").dropFirst().first, "README has a Layout section")
        var named = Set<String>()
        // A row's first cell names one module or several: `A`, `B`, `C`.
        for line in section.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.dropFirst(2).prefix { $0 != "|" }
            let quoted = firstCell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }
            named.formUnion(quoted.map { String($0.element) })
        }
        let folders = Set(try FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("Sources").path)
            .filter { !$0.hasPrefix(".") })
        XCTAssertEqual(named.subtracting(folders), [], "named in the README but not a folder")
        XCTAssertEqual(folders.subtracting(named), [], "a folder the README's layout table does not name")
    }
}
