import Common
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a recording holds, judged by its content rather than its name.
public enum MediaType: String, Codable, Sendable {
    case video, photo, audio, unknown
}

/// What `MediaProbe` learned from a file's content.
public struct MediaInfo: Sendable, Equatable, Codable {
    /// The kind of recording.
    public var mediaType: MediaType
    /// The container format: "mp4", "mov", "jpeg", "wav", "mp3" or "aac"; nil when not recognised.
    public var container: String?
    /// Playing time in seconds, for MP4/MOV (movie header) and WAV (data size over byte rate).
    public var durationSeconds: Double?
    /// The MP4/MOV movie header's creation time (UTC by the format; many cameras write their
    /// local clock there). Nil when absent or zero.
    public var createdAt: Date?
    /// A JPEG's EXIF DateTimeOriginal (else DateTime) exactly as written, "YYYY:MM:DD hh:mm:ss":
    /// naive local time on the camera's clock.
    public var capturedAtLocal: String?
    /// What is wrong with the file, in words (truncation, missing parts, unreadable); empty when nothing is.
    public var problems: [String]

    /// A description with every field stated.
    public init(mediaType: MediaType, container: String? = nil, durationSeconds: Double? = nil,
                createdAt: Date? = nil, capturedAtLocal: String? = nil, problems: [String] = []) {
        self.mediaType = mediaType
        self.container = container
        self.durationSeconds = durationSeconds
        self.createdAt = createdAt
        self.capturedAtLocal = capturedAtLocal
        self.problems = problems
    }
}

/// Tells video, photo and audio apart by their bytes and reads the times and duration they carry.
///
/// It reads by offset and only the few bytes it needs, so a 4 GB recording costs a handful of
/// small reads, and every loop and buffer is bounded so a hostile file cannot exhaust memory or time.
/// It never fails: what it cannot learn stays nil, and what is wrong is listed in `problems`.
public enum MediaProbe {
    /// Probes the regular file at `path`.
    public static func probe(fileAt path: String) -> MediaInfo {
        // O_NONBLOCK keeps a FIFO planted in place of a file from blocking the open.
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            return MediaInfo(mediaType: .unknown, problems: ["cannot be opened: \(errorText(errno))"])
        }
        defer { close(descriptor) }
        return probe(descriptor: descriptor)
    }

    /// Probes a file open for reading (read by offset, its position left alone): a copy just
    /// written is probed without opening it again.
    public static func probe(descriptor: Int32) -> MediaInfo {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            return MediaInfo(mediaType: .unknown, problems: ["cannot be examined: \(errorText(errno))"])
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            return MediaInfo(mediaType: .unknown, problems: ["not a regular file"])
        }
        guard status.st_size > 0 else {
            return MediaInfo(mediaType: .unknown, problems: ["empty file"])
        }
        let file = ProbedFile(descriptor: descriptor, size: UInt64(status.st_size))
        var info = probe(file)
        if let readError = file.readError { info.problems.append(readError) }
        return info
    }

    private static func probe(_ file: ProbedFile) -> MediaInfo {
        let head = file.bytes(at: 0, count: 16)
        guard !head.isEmpty else { return MediaInfo(mediaType: .unknown) }
        if head.count >= 8, fourCC(head, at: 4) == "ftyp" {
            return ISOMediaProbe.probe(file, brand: head.count >= 12 ? fourCC(head, at: 8) : "")
        }
        if head.starts(with: [0xFF, 0xD8, 0xFF]) {
            return JPEGProbe.probe(file)
        }
        if head.count >= 12, fourCC(head, at: 0) == "RIFF", fourCC(head, at: 8) == "WAVE" {
            return WAVProbe.probe(file)
        }
        if head.starts(with: Array("ID3".utf8)) {
            return MPEGAudioProbe.probeTagged(file)
        }
        if MPEGAudioProbe.isADTSHeader(head) {
            return MediaInfo(mediaType: .audio, container: "aac")
        }
        if MPEGAudioProbe.isMPEGAudioHeader(head) {
            return MediaInfo(mediaType: .audio, container: "mp3")
        }
        // Classic QuickTime movies may open with one of these atoms and no ftyp at all.
        if head.count >= 8, ["moov", "mdat", "wide"].contains(fourCC(head, at: 4)) {
            return ISOMediaProbe.probe(file, brand: "qt  ")
        }
        return MediaInfo(mediaType: .unknown, problems: ["content not recognised as video, photo or audio"])
    }

    /// Four bytes as text: printable ASCII as is, anything else as `\xNN`.
    static func fourCC(_ bytes: [UInt8], at offset: Int) -> String {
        guard offset >= 0, offset + 4 <= bytes.count else { return "" }
        let code = bytes[offset..<(offset + 4)]
        // Asked of every file's first bytes: the common printable case without formatting.
        if code.allSatisfy({ (0x20...0x7E).contains($0) }) { return String(decoding: code, as: UTF8.self) }
        return code.map { byte in
            (0x20...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + Hex.byte(byte).uppercased()
        }.joined()
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// An open file read by offset in bounded pieces; remembers the first read error.
final class ProbedFile {
    /// No single read is larger than this, whatever a header claims (an EXIF segment is at most 64 KiB).
    static let maximumRead = 1 << 20

    let descriptor: Int32
    let size: UInt64
    private(set) var readError: String?

    init(descriptor: Int32, size: UInt64) {
        self.descriptor = descriptor
        self.size = size
    }

    /// Up to `count` bytes from `offset`; fewer at the end of the file or on a read error.
    func bytes(at offset: UInt64, count: Int) -> [UInt8] {
        guard offset < size, count > 0 else { return [] }
        let wanted = Int(min(UInt64(min(count, Self.maximumRead)), size - offset))
        var buffer = [UInt8](repeating: 0, count: wanted)
        var filled = 0
        while filled < wanted {
            let got = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + filled, wanted - filled, off_t(offset) + off_t(filled))
            }
            if got > 0 {
                filled += got
            } else if got < 0, errno == EINTR {
                continue
            } else {
                if got < 0, readError == nil {
                    readError = "read error at offset \(offset + UInt64(filled)): \(MediaProbe.errorText(errno))"
                }
                break
            }
        }
        return filled == wanted ? buffer : Array(buffer[..<filled])
    }
}

/// Big- and little-endian integers out of a byte array, nil when out of range.
extension Array where Element == UInt8 {
    func bigEndian16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        return UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    func bigEndian32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        return self[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    func bigEndian64(at offset: Int) -> UInt64? {
        guard offset >= 0, offset + 8 <= count else { return nil }
        return self[offset..<(offset + 8)].reduce(0) { $0 << 8 | UInt64($1) }
    }

    func littleEndian16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        return UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }

    func littleEndian32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        return self[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
}
