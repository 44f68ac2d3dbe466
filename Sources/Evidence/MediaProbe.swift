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
        return bytes[offset..<(offset + 4)].map { byte in
            (0x20...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : String(format: "\\x%02X", byte)
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

// MARK: - MP4 and QuickTime

/// ISO base media (MP4, M4A) and QuickTime (MOV): walks boxes by their headers, reading only
/// headers and the movie header (mvhd).
enum ISOMediaProbe {
    /// Enough for any real file; a hostile one full of tiny boxes stops here.
    static let maximumBoxes = 100_000
    /// Seconds from 1904-01-01 (the format's epoch) to 1970-01-01.
    static let secondsFrom1904To1970: Double = 2_082_844_800

    struct Box {
        let type: String
        let start: UInt64
        let headerSize: UInt64
        let size: UInt64
        var end: UInt64 { start + size }
        var bodyStart: UInt64 { start + headerSize }
    }

    enum BoxRead {
        case box(Box)
        case problem(String)
    }

    static func probe(_ file: ProbedFile, brand: String) -> MediaInfo {
        var info = MediaInfo(mediaType: brand == "M4A " ? .audio : .video,
                             container: brand == "qt  " ? "mov" : "mp4")
        var foundMovie = false
        var offset: UInt64 = 0
        var boxesSeen = 0
        while offset < file.size {
            guard boxesSeen < maximumBoxes else {
                info.problems.append("MP4 has more than \(maximumBoxes) top-level boxes; the rest was not examined")
                break
            }
            boxesSeen += 1
            switch readBox(file, at: offset, parentEnd: file.size) {
            case .problem(let problem):
                info.problems.append(problem)
                offset = file.size
            case .box(let box):
                if box.type == "moov" {
                    foundMovie = true
                    readMovie(file, box, into: &info)
                }
                if box.end > file.size {
                    info.problems.append("truncated MP4: box '\(box.type)' claims \(box.size) bytes but the file ends at \(file.size)")
                }
                offset = box.end
            }
        }
        if !foundMovie { info.problems.append("MP4 has no moov box") }
        return info
    }

    /// The box header at `offset`; a size of 0 runs to `parentEnd`, a size of 1 is followed by a 64-bit size.
    static func readBox(_ file: ProbedFile, at offset: UInt64, parentEnd: UInt64) -> BoxRead {
        let header = file.bytes(at: offset, count: 16)
        guard header.count >= 8, let size32 = header.bigEndian32(at: 0) else {
            return .problem("truncated MP4: a box header at offset \(offset) is cut off by the end of the file at \(file.size)")
        }
        let type = MediaProbe.fourCC(header, at: 4)
        var headerSize: UInt64 = 8
        let size: UInt64
        switch size32 {
        case 0:
            size = parentEnd - offset
        case 1:
            guard let large = header.bigEndian64(at: 8) else {
                return .problem("truncated MP4: box '\(type)' at offset \(offset) has its 64-bit size cut off by the end of the file at \(file.size)")
            }
            headerSize = 16
            size = large
        default:
            size = UInt64(size32)
        }
        guard size >= headerSize else {
            return .problem("damaged MP4: box '\(type)' at offset \(offset) declares \(size) bytes, fewer than its own header")
        }
        guard offset.addingReportingOverflow(size).overflow == false else {
            return .problem("damaged MP4: box '\(type)' at offset \(offset) declares an impossible size \(size)")
        }
        return .box(Box(type: type, start: offset, headerSize: headerSize, size: size))
    }

    /// Looks for the movie header among moov's children, within what the file holds of moov.
    static func readMovie(_ file: ProbedFile, _ movie: Box, into info: inout MediaInfo) {
        let end = min(movie.end, file.size)
        var offset = movie.bodyStart
        var boxesSeen = 0
        while offset < end, boxesSeen < maximumBoxes {
            boxesSeen += 1
            guard case .box(let child) = readBox(file, at: offset, parentEnd: end) else { break }
            if child.type == "mvhd" {
                readMovieHeader(file, child, into: &info)
                return
            }
            offset = child.end
        }
        info.problems.append("MP4 moov has no mvhd box")
    }

    static func readMovieHeader(_ file: ProbedFile, _ header: Box, into info: inout MediaInfo) {
        // Version 1 is the largest layout: version+flags, three 64-bit and one 32-bit field.
        let body = file.bytes(at: header.bodyStart, count: Int(min(header.size - header.headerSize, 32)))
        let creation: UInt64?, timescale: UInt32?, duration: UInt64?, unknownDuration: UInt64
        switch body.first {
        case 1:
            creation = body.bigEndian64(at: 4)
            timescale = body.bigEndian32(at: 20)
            duration = body.bigEndian64(at: 24)
            unknownDuration = UInt64.max
        case 0:
            creation = body.bigEndian32(at: 4).map(UInt64.init)
            timescale = body.bigEndian32(at: 12)
            duration = body.bigEndian32(at: 16).map(UInt64.init)
            unknownDuration = UInt64(UInt32.max)
        default:
            info.problems.append("MP4 mvhd has unknown version \(body.first.map(String.init) ?? "(missing)")")
            return
        }
        if let creation, creation != 0 {
            info.createdAt = Date(timeIntervalSince1970: Double(creation) - secondsFrom1904To1970)
        }
        guard let timescale, let duration else {
            info.problems.append("truncated MP4: mvhd is cut short")
            return
        }
        if timescale == 0 {
            info.problems.append("MP4 mvhd has timescale 0, so its duration is unknown")
        } else if duration != unknownDuration {
            info.durationSeconds = Double(duration) / Double(timescale)
        }
    }
}

// MARK: - JPEG

/// JPEG: walks the markers from SOI to the start of scan, reading EXIF from APP1 on the way.
enum JPEGProbe {
    /// Markers plus fill bytes; real files have a few dozen.
    static let maximumSteps = 65_536
    /// How far back from the end to look for EOI, which trailers (maker data, MPF images) may follow.
    static let endSearchWindow = 1 << 16

    static func probe(_ file: ProbedFile) -> MediaInfo {
        var info = MediaInfo(mediaType: .photo, container: "jpeg")
        var offset: UInt64 = 2
        var scanStart: UInt64?
        var steps = 0
        walk: while steps < maximumSteps {
            steps += 1
            let header = file.bytes(at: offset, count: 4)
            guard header.count >= 2 else {
                info.problems.append("truncated JPEG: the file ends at \(file.size) before any image data")
                break walk
            }
            guard header[0] == 0xFF else {
                info.problems.append("damaged JPEG: expected a marker at offset \(offset), found byte \(String(format: "0x%02X", header[0]))")
                break walk
            }
            let marker = header[1]
            switch marker {
            case 0xFF:
                offset += 1  // a fill byte before the marker
                continue walk
            case 0x01, 0xD0...0xD7:
                offset += 2  // markers that stand alone, with no length
                continue walk
            case 0xD9:
                info.problems.append("damaged JPEG: end of image at offset \(offset) before any image data")
                break walk
            default:
                break  // a segment with a length, read below
            }
            guard let length = header.bigEndian16(at: 2) else {
                info.problems.append("truncated JPEG: the file ends at \(file.size) inside marker \(markerName(marker))")
                break walk
            }
            guard length >= 2 else {
                info.problems.append("damaged JPEG: segment \(markerName(marker)) at offset \(offset) declares length \(length)")
                break walk
            }
            let segmentEnd = offset + 2 + UInt64(length)
            if segmentEnd > file.size {
                info.problems.append("truncated JPEG: segment \(markerName(marker)) at offset \(offset) claims \(length) bytes but the file ends at \(file.size)")
                break walk
            }
            if marker == 0xDA {
                scanStart = segmentEnd
                break walk
            }
            if marker == 0xE1, info.capturedAtLocal == nil {
                let payload = file.bytes(at: offset + 4, count: Int(length) - 2)
                info.capturedAtLocal = EXIFReader.capturedAt(inAPP1: payload)
            }
            offset = segmentEnd
        }
        if scanStart == nil, info.problems.isEmpty {
            info.problems.append("damaged JPEG: no image data (start of scan) within the first \(maximumSteps) markers")
        }
        if let scanStart, !endsWithEndOfImage(file, after: scanStart) {
            info.problems.append("truncated JPEG: no end-of-image marker after the image data")
        }
        return info
    }

    static func endsWithEndOfImage(_ file: ProbedFile, after scanStart: UInt64) -> Bool {
        let windowStart = max(scanStart, file.size > UInt64(endSearchWindow) ? file.size - UInt64(endSearchWindow) : 0)
        guard windowStart < file.size else { return false }
        let tail = file.bytes(at: windowStart, count: Int(file.size - windowStart))
        return zip(tail, tail.dropFirst()).contains { $0 == 0xFF && $1 == 0xD9 }
    }

    static func markerName(_ marker: UInt8) -> String {
        String(format: "0xFF%02X", marker)
    }
}

/// The capture time inside an APP1 Exif segment's TIFF structure.
enum EXIFReader {
    static let exifIFDPointer: UInt16 = 0x8769
    static let dateTimeOriginal: UInt16 = 0x9003
    static let dateTime: UInt16 = 0x0132
    static let asciiType: UInt16 = 2
    /// More entries than any real IFD has; counts beyond it are bogus.
    static let maximumEntries = 1_000

    struct Entry {
        let tag: UInt16
        let type: UInt16
        let count: UInt32
        let valueOffset: Int  // where the 4-byte value-or-offset field sits
    }

    /// DateTimeOriginal from the Exif sub-IFD, else IFD0's DateTime; nil if neither is there.
    static func capturedAt(inAPP1 segment: [UInt8]) -> String? {
        let signature: [UInt8] = Array("Exif".utf8) + [0, 0]
        guard segment.starts(with: signature) else { return nil }
        let tiff = Array(segment.dropFirst(signature.count))
        let bigEndian: Bool
        switch (tiff.first, tiff.count > 1 ? tiff[1] : nil) {
        case (0x49, 0x49): bigEndian = false  // "II"
        case (0x4D, 0x4D): bigEndian = true  // "MM"
        default: return nil
        }
        let reader = TIFFReader(bytes: tiff, bigEndian: bigEndian)
        guard reader.uint16(at: 2) == 42, let firstIFD = reader.uint32(at: 4) else { return nil }
        let ifd0 = reader.entries(ofIFDAt: Int(firstIFD))
        if let pointer = ifd0.first(where: { $0.tag == exifIFDPointer }),
           let exifOffset = reader.uint32(at: pointer.valueOffset),
           let original = reader.entries(ofIFDAt: Int(exifOffset)).first(where: { $0.tag == dateTimeOriginal }),
           let text = reader.meaningfulDate(original) {
            return text
        }
        return ifd0.first(where: { $0.tag == dateTime }).flatMap(reader.meaningfulDate)
    }

    struct TIFFReader {
        let bytes: [UInt8]
        let bigEndian: Bool

        func uint16(at offset: Int) -> UInt16? {
            bigEndian ? bytes.bigEndian16(at: offset) : bytes.littleEndian16(at: offset)
        }

        func uint32(at offset: Int) -> UInt32? {
            bigEndian ? bytes.bigEndian32(at: offset) : bytes.littleEndian32(at: offset)
        }

        func entries(ofIFDAt offset: Int) -> [Entry] {
            guard let declared = uint16(at: offset) else { return [] }
            let fitting = max(0, (bytes.count - offset - 2) / 12)
            return (0..<min(Int(declared), fitting, maximumEntries)).compactMap { index in
                let start = offset + 2 + index * 12
                guard let tag = uint16(at: start), let type = uint16(at: start + 2),
                      let count = uint32(at: start + 4)
                else { return nil }
                return Entry(tag: tag, type: type, count: count, valueOffset: start + 8)
            }
        }

        /// An ASCII date's text up to its NUL; nil when missing, out of bounds, or left blank
        /// (EXIF writes spaces or zeros for an unknown date).
        func meaningfulDate(_ entry: Entry) -> String? {
            guard entry.type == asciiType, entry.count > 0 else { return nil }
            let count = Int(entry.count)
            let start: Int
            if count <= 4 {
                start = entry.valueOffset
            } else {
                guard let offset = uint32(at: entry.valueOffset) else { return nil }
                start = Int(offset)
            }
            guard start >= 0, start <= bytes.count, count <= bytes.count - start else { return nil }
            let text = bytes[start..<(start + count)].prefix { $0 != 0 }
            guard text.contains(where: { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) }) else { return nil }
            return String(decoding: text, as: UTF8.self)
        }
    }
}

// MARK: - WAV

/// RIFF WAVE: walks the chunks for fmt (byte rate) and data (size).
enum WAVProbe {
    static let maximumChunks = 10_000

    static func probe(_ file: ProbedFile) -> MediaInfo {
        var info = MediaInfo(mediaType: .audio, container: "wav")
        var byteRate: UInt32?
        var dataBytes: UInt64?
        var offset: UInt64 = 12
        var chunksSeen = 0
        while offset < file.size, chunksSeen < maximumChunks {
            chunksSeen += 1
            let header = file.bytes(at: offset, count: 8)
            guard header.count == 8, let declared = header.littleEndian32(at: 4) else {
                info.problems.append("truncated WAV: a chunk header at offset \(offset) is cut off by the end of the file at \(file.size)")
                break
            }
            let id = MediaProbe.fourCC(header, at: 0)
            let bodyStart = offset + 8
            let available = min(UInt64(declared), file.size - min(bodyStart, file.size))
            if id == "fmt " {
                let format = file.bytes(at: bodyStart, count: Int(min(available, 16)))
                byteRate = format.littleEndian32(at: 8)
            } else if id == "data", dataBytes == nil {
                dataBytes = available
            }
            if UInt64(declared) > available {
                info.problems.append("truncated WAV: chunk '\(id)' claims \(declared) bytes but the file ends at \(file.size)")
                break
            }
            offset = bodyStart + UInt64(declared) + UInt64(declared & 1)  // chunks are padded to even sizes
        }
        if byteRate == nil { info.problems.append("WAV has no fmt chunk") }
        if dataBytes == nil { info.problems.append("WAV has no data chunk") }
        if let byteRate, let dataBytes {
            if byteRate == 0 {
                info.problems.append("WAV fmt chunk has byte rate 0, so its duration is unknown")
            } else {
                info.durationSeconds = Double(dataBytes) / Double(byteRate)
            }
        }
        return info
    }
}

// MARK: - MP3 and AAC

/// MPEG audio (MP3) and ADTS (AAC) frame headers. Their duration is not measured, as that
/// would mean walking every frame.
enum MPEGAudioProbe {
    /// An ID3v2 tag, then the first frame tells MP3 from AAC.
    static func probeTagged(_ file: ProbedFile) -> MediaInfo {
        var info = MediaInfo(mediaType: .audio, container: "mp3")
        let tag = file.bytes(at: 0, count: 10)
        guard tag.count == 10 else {
            info.problems.append("truncated MP3: the ID3 tag header is cut off by the end of the file at \(file.size)")
            return info
        }
        // The size is "synchsafe": 7 bits per byte, excluding the header and any footer.
        let size = tag[6..<10].reduce(UInt64(0)) { $0 << 7 | UInt64($1 & 0x7F) }
        let frameStart = 10 + size + (tag[5] & 0x10 != 0 ? 10 : 0)
        guard frameStart < file.size else {
            info.problems.append("truncated MP3: the ID3 tag claims \(frameStart) bytes but the file ends at \(file.size)")
            return info
        }
        if isADTSHeader(file.bytes(at: frameStart, count: 7)) { info.container = "aac" }
        return info
    }

    static func isADTSHeader(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 6, bytes[0] == 0xFF, bytes[1] & 0xF6 == 0xF0 else { return false }
        let samplingIndex = (bytes[2] >> 2) & 0x0F
        let frameLength = Int(bytes[3] & 0x03) << 11 | Int(bytes[4]) << 3 | Int(bytes[5]) >> 5
        return samplingIndex < 13 && frameLength >= 7
    }

    static func isMPEGAudioHeader(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] & 0xE0 == 0xE0 else { return false }
        let version = (bytes[1] >> 3) & 0x03, layer = (bytes[1] >> 1) & 0x03
        let bitrateIndex = bytes[2] >> 4, samplingIndex = (bytes[2] >> 2) & 0x03
        return version != 1 && layer != 0 && bitrateIndex != 0x0F && samplingIndex != 3
    }
}
