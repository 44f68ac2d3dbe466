import Foundation

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
