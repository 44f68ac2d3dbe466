import Foundation

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
