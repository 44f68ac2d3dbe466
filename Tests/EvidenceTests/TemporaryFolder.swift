import Foundation
import XCTest

extension XCTestCase {
    /// A fresh folder under the system's temporary folder, removed when the test ends.
    func makeTemporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("fieldgate-evidence-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }

    /// Writes `bytes` to `name` in `folder` and returns the file's path.
    func write(_ bytes: [UInt8], named name: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Where the top-level boxes of an MP4 start, by type, for cutting and patching test files.
func topLevelBoxOffsets(_ bytes: [UInt8]) -> [String: Int] {
    var offsets: [String: Int] = [:]
    var offset = 0
    while offset + 8 <= bytes.count {
        let size32 = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
        let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
        offsets[type] = offset
        let size = size32 == 1 ? bytes[(offset + 8)..<(offset + 16)].reduce(0) { $0 << 8 | Int($1) } : size32
        guard size >= 8 else { break }
        offset += size
    }
    return offsets
}

/// A fixed pseudo-random sequence (xorshift), so "random" test input is the same on every run.
func seededBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 32)
    }
}
