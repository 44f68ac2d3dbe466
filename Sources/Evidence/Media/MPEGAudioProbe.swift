import Foundation

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
