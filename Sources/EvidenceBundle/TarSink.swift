import Foundation

/// A bag as a POSIX ustar archive, written as a stream: every entry under one top folder
/// (the archive's name), blobs copied in chunks, nothing held whole in memory. A size beyond
/// ustar's 8 GiB is written in base-256, as GNU tar and bsdtar read it.
struct TarSink: BundleSink {
    static let blockSize = 512

    let archive: URL
    let top: String
    private let descriptor: Int32
    private var folders: Set<String> = []

    init(archive: URL) throws(BundleError) {
        self.archive = archive
        top = archive.deletingPathExtension().lastPathComponent
        descriptor = open(archive.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw errno == EEXIST ? .destinationInUse(archive.path) : .io(archive.path, String(cString: strerror(errno)))
        }
        try addFolder(top)
    }

    private mutating func addFolder(_ folder: String) throws(BundleError) {
        guard folders.insert(folder).inserted else { return }
        if let slash = folder.lastIndex(of: "/") { try addFolder(String(folder[..<slash])) }
        try writeAll(descriptor, try Self.header(path: folder + "/", size: 0, type: "5", mode: 0o755), path: archive.path)
    }

    private mutating func begin(_ path: String, size: Int64) throws(BundleError) {
        let full = top + "/" + path
        if let slash = full.lastIndex(of: "/") { try addFolder(String(full[..<slash])) }
        try writeAll(descriptor, try Self.header(path: full, size: size, type: "0", mode: 0o644), path: archive.path)
    }

    private func pad(_ size: Int64) throws(BundleError) {
        let remainder = Int(size % Int64(Self.blockSize))
        if remainder > 0 { try writeAll(descriptor, Data(count: Self.blockSize - remainder), path: archive.path) }
    }

    mutating func write(_ path: String, bytes: Data) throws(BundleError) {
        try begin(path, size: Int64(bytes.count))
        try writeAll(descriptor, bytes, path: archive.path)
        try pad(Int64(bytes.count))
    }

    mutating func copy(_ path: String, from source: String, sha256: String) throws(BundleError) {
        let reader = try ChunkedReader(path: source)
        try begin(path, size: reader.size)
        try copyAll(reader, to: descriptor, path: archive.path, sha256: sha256)
        try pad(reader.size)
    }

    mutating func finish() throws(BundleError) {
        // Two zero blocks end the archive.
        try writeAll(descriptor, Data(count: 2 * Self.blockSize), path: archive.path)
        let synced = fsync(descriptor)
        let reason = String(cString: strerror(errno))
        _ = close(descriptor)
        guard synced == 0 else { throw .io(archive.path, reason) }
    }

    /// One ustar header block; a path over 100 bytes is split at a `/` into prefix and name.
    static func header(path: String, size: Int64, type: Character, mode: Int) throws(BundleError) -> Data {
        var block = [UInt8](repeating: 0, count: blockSize)
        let bytes = Array(path.utf8)
        var name = bytes[...], prefix: ArraySlice<UInt8> = []
        if bytes.count > 100 {
            guard let split = bytes.indices.last(where: { bytes[$0] == UInt8(ascii: "/") && $0 <= 155 && bytes.count - $0 - 1 <= 100 && $0 > 0 })
            else { throw .pathTooLong(path) }
            prefix = bytes[..<split]
            name = bytes[(split + 1)...]
        }
        func put(_ field: some Collection<UInt8>, at offset: Int) { for (index, byte) in field.enumerated() { block[offset + index] = byte } }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(octal(Int64(mode), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        if size < 0o77777777777 {
            put(octal(size, width: 12), at: 124)
        } else {
            var base256 = [UInt8](repeating: 0, count: 12)
            var value = UInt64(size)
            for index in stride(from: 11, to: 0, by: -1) {
                base256[index] = UInt8(value & 0xFF)
                value >>= 8
            }
            base256[0] = 0x80
            put(base256, at: 124)
        }
        put(octal(Int64(Date().timeIntervalSince1970), width: 12), at: 136)
        block[156] = type.asciiValue ?? UInt8(ascii: "0")
        put(Array("ustar".utf8) + [0], at: 257)
        put(Array("00".utf8), at: 263)
        put(prefix, at: 345)
        // The checksum is summed with its own field as eight spaces.
        put([UInt8](repeating: 0x20, count: 8), at: 148)
        let checksum = block.reduce(0) { $0 + Int64($1) }
        put(octal(checksum, width: 7) + [0x20], at: 148)
        return Data(block)
    }
}
