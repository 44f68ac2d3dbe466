import Foundation

/// Extracts a bundle's `.tar` (ustar as `export` writes it, or as GNU tar and bsdtar re-pack
/// it: long names in GNU `L` or pax `x` entries) into an empty folder, and refuses what a bag
/// never holds: links, devices, paths leaving the archive's one top folder. Nothing is ever
/// written outside `folder`; on failure the caller removes it.
public enum TarExtractor {
    static let blockSize = 512

    /// Extracts `archive` into `folder` (created, must not exist) and returns the bag's folder
    /// inside it (the archive's top folder).
    public static func extract(_ archive: URL, into folder: URL) throws(BagCheckError) -> URL {
        let name = archive.lastPathComponent
        let input = open(archive.path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw errno == ENOENT ? .missing(archive.path) : .unreadable(archive.path, String(cString: strerror(errno))) }
        defer { close(input) }
        guard mkdir(folder.path, 0o700) == 0 else { throw .unreadable(folder.path, String(cString: strerror(errno))) }
        var reader = BlockReader(descriptor: input, name: name)
        var top: String?
        var longName: String?
        while let header = try reader.block() {
            if header.allSatisfy({ $0 == 0 }) { break }
            guard checksumHolds(header) else { throw .malformed(name, "a header's checksum is wrong (not a tar file, or damaged)") }
            let size = try number(header[124..<136], in: name)
            let type = header[156]
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "x"):
                guard size <= 64 << 10 else { throw .malformed(name, "an extended header is too large") }
                let data = try reader.bytes(Int(size))
                longName = type == UInt8(ascii: "L") ? String(decoding: data.prefix { $0 != 0 }, as: UTF8.self) : paxPath(data) ?? longName
                continue
            case UInt8(ascii: "g"):
                _ = try reader.bytes(Int(size))
                continue
            default:
                break
            }
            let rawPath: String
            if let longName { rawPath = longName } else { rawPath = try ustarPath(header, in: name) }
            longName = nil
            let isFolder = type == UInt8(ascii: "5")
            let path = isFolder && rawPath.hasSuffix("/") ? String(rawPath.dropLast()) : rawPath
            guard BagVerifier.isPlain(path) else { throw .unsafePath(path) }
            let first = String(path.prefix { $0 != "/" })
            if top == nil { top = first }
            guard first == top else { throw .malformed(name, "its entries are not all under one folder (\(top ?? "") and \(first))") }
            let target = folder.appendingPathComponent(path)
            switch type {
            case UInt8(ascii: "5"):
                try makeFolders(target)
            case UInt8(ascii: "0"), 0:
                try makeFolders(target.deletingLastPathComponent())
                try reader.copy(Int64(size), to: target, path: path)
            default:
                throw .notARegularFile("\(path) (tar entry type \(Character(UnicodeScalar(type))))")
            }
        }
        guard let top else { throw .notABag("\(name) holds no files") }
        return folder.appendingPathComponent(top)
    }

    static func checksumHolds(_ header: [UInt8]) -> Bool {
        var sum = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 0x20 : Int(byte) }
        let field = String(decoding: header[148..<156].prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
        return Int(field, radix: 8) == sum
    }

    /// An octal field, or base-256 when its first byte has the high bit (sizes past 8 GiB).
    static func number(_ field: ArraySlice<UInt8>, in name: String) throws(BagCheckError) -> Int64 {
        if let first = field.first, first & 0x80 != 0 {
            var value: Int64 = 0
            for byte in field.dropFirst() {
                guard value < Int64.max >> 8 else { throw .malformed(name, "a size is too large") }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        let text = String(decoding: field.prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
        guard let value = Int64(text.isEmpty ? "0" : text, radix: 8), value >= 0 else { throw .malformed(name, "a size is not a number") }
        return value
    }

    static func ustarPath(_ header: [UInt8], in name: String) throws(BagCheckError) -> String {
        func text(_ range: Range<Int>) throws(BagCheckError) -> String {
            let bytes = Array(header[range].prefix { $0 != 0 })
            guard let value = String(validating: bytes, as: UTF8.self) else { throw .malformed(name, "an entry's name is not UTF-8") }
            return value
        }
        let entry = try text(0..<100)
        let isUstar = header[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? try text(345..<500) : ""
        return prefix.isEmpty ? entry : prefix + "/" + entry
    }

    /// The `path=` record of a pax extended header.
    static func paxPath(_ data: Data) -> String? {
        for record in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let space = record.firstIndex(of: " ") else { continue }
            let field = record[record.index(after: space)...]
            if field.hasPrefix("path=") { return String(field.dropFirst(5)) }
        }
        return nil
    }

    static func makeFolders(_ url: URL) throws(BagCheckError) {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw .unreadable(url.path, error.localizedDescription)
        }
    }

    /// The archive read in 512-byte blocks, file contents copied in 1 MiB pieces.
    struct BlockReader {
        let descriptor: Int32
        let name: String

        mutating func block() throws(BagCheckError) -> [UInt8]? {
            let data = try fill(TarExtractor.blockSize, allowEnd: true)
            return data.map(Array.init)
        }

        /// `count` bytes and the padding after them.
        mutating func bytes(_ count: Int) throws(BagCheckError) -> Data {
            let data = try fill(count, allowEnd: false) ?? Data()
            try skipPadding(Int64(count))
            return data
        }

        mutating func copy(_ count: Int64, to target: URL, path: String) throws(BagCheckError) {
            let output = open(target.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard output >= 0 else {
                throw errno == EEXIST ? .malformed(name, "\(path) is in it twice") : .unreadable(target.path, String(cString: strerror(errno)))
            }
            defer { close(output) }
            var left = count
            while left > 0 {
                let piece = Int(min(left, 1 << 20))
                guard let data = try fill(piece, allowEnd: false) else { throw .malformed(name, "it ends inside \(path)") }
                let written = data.withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
                guard written == data.count else {
                    throw errno == ENOSPC ? .unreadable(target.path, "disk full: free space for the bundle's copy, or import the extracted folder")
                        : .unreadable(target.path, String(cString: strerror(errno)))
                }
                left -= Int64(piece)
            }
            guard fsync(output) == 0 else { throw .unreadable(target.path, String(cString: strerror(errno))) }
            try skipPadding(count)
        }

        mutating func skipPadding(_ size: Int64) throws(BagCheckError) {
            let remainder = Int(size % Int64(TarExtractor.blockSize))
            if remainder > 0 { _ = try fill(TarExtractor.blockSize - remainder, allowEnd: false) }
        }

        /// Exactly `count` bytes; nil at a clean end when `allowEnd`.
        func fill(_ count: Int, allowEnd: Bool) throws(BagCheckError) -> Data? {
            var data = Data(count: count)
            var got = 0
            while got < count {
                let read = data.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress! + got, count - got) }
                if read < 0 {
                    if errno == EINTR { continue }
                    throw .unreadable(name, String(cString: strerror(errno)))
                }
                if read == 0 {
                    if got == 0 && allowEnd { return nil }
                    throw .malformed(name, "it ends in the middle of an entry")
                }
                got += read
            }
            return data
        }
    }
}
