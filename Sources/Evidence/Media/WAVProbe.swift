import Foundation

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
