import Foundation

/// Small but valid recordings, built byte by byte and the same on every run, for tests and the
/// demo: MP4/MOV movies, EXIF-dated JPEG photos, WAV audio, and whole camera volumes of them.
public enum SampleRecordings {
    /// Valid variations of an MP4's layout, for exercising readers on less common files.
    public struct MP4Layout: OptionSet, Sendable {
        public let rawValue: Int

        public init(rawValue: Int) {
            self.rawValue = rawValue
        }

        /// mdat before moov, as a camera writes when it finishes the index last.
        public static let movieAfterData = MP4Layout(rawValue: 1 << 0)
        /// mdat with a 64-bit size (size field 1, then `largesize`), as files over 4 GB have.
        public static let largeSizeData = MP4Layout(rawValue: 1 << 1)
        /// Version 1 (64-bit) movie, track and media headers.
        public static let version1Headers = MP4Layout(rawValue: 1 << 2)
    }

    /// The byte order of a JPEG's EXIF (TIFF) structure: "II" or "MM".
    public enum ExifByteOrder: Sendable {
        case littleEndian, bigEndian
    }

    /// An MP4 (brand `isom`) that players accept: ftyp, moov with one video track, and mdat.
    /// The track holds a single Motion-JPEG frame (a 320×240 grey ramp) shown for the whole
    /// duration; mdat holds that frame then filler up to `payloadBytes` (at least the frame).
    /// The movie header carries `createdAt` (whole seconds) and the duration in milliseconds.
    public static func mp4(durationSeconds: Double, createdAt: Date, payloadBytes: Int = 4096,
                           layout: MP4Layout = []) -> [UInt8] {
        movie(fileType: box("ftyp", fourCC("isom") + uint32(0x200) + fourCC("isom") + fourCC("iso2") + fourCC("mp41")),
              quickTime: false, durationSeconds: durationSeconds, createdAt: createdAt, payloadBytes: payloadBytes, layout: layout)
    }

    /// A QuickTime movie (brand `qt  `), laid out like `mp4(durationSeconds:createdAt:payloadBytes:layout:)`.
    public static func mov(durationSeconds: Double, createdAt: Date, payloadBytes: Int = 4096,
                           layout: MP4Layout = []) -> [UInt8] {
        movie(fileType: box("ftyp", fourCC("qt  ") + uint32(0x200) + fourCC("qt  ")),
              quickTime: true, durationSeconds: durationSeconds, createdAt: createdAt, payloadBytes: payloadBytes, layout: layout)
    }

    /// A baseline greyscale JPEG of a flat mid-grey image: SOI, APP1 Exif (IFD0 DateTime and
    /// an Exif sub-IFD with DateTimeOriginal, both `capturedAtLocal`), DQT, SOF0, DHT, SOS with
    /// correctly Huffman-coded blocks, EOI.
    /// (FFmpeg 5 says "EOI missing, emulating" for any JPEG with only a few bytes of image
    /// data, its own included; libjpeg decodes these silently.)
    /// - Parameter capturedAtLocal: the camera's local time as EXIF writes it, "YYYY:MM:DD hh:mm:ss".
    public static func jpeg(capturedAtLocal: String, width: Int = 8, height: Int = 8,
                            exifByteOrder: ExifByteOrder = .littleEndian) -> [UInt8] {
        baselineJPEG(width: width, height: height,
                     exif: exif(capturedAtLocal: capturedAtLocal, byteOrder: exifByteOrder)) { _, _ in 128 }
    }

    /// A WAV file: 16-bit mono PCM of a quiet 440 Hz triangle tone.
    public static func wav(durationSeconds: Double, sampleRate: Int = 8000) -> [UInt8] {
        precondition(sampleRate > 0 && durationSeconds >= 0, "a WAV needs a positive sample rate and a duration")
        let sampleCount = Int((durationSeconds * Double(sampleRate)).rounded())
        precondition(sampleCount * 2 <= Int(UInt32.max) - 36, "a WAV holds at most 4 GB")
        let period = max(2, sampleRate / 440), half = period / 2, amplitude = 2_000
        var data: [UInt8] = []
        data.reserveCapacity(sampleCount * 2)
        for index in 0..<sampleCount {
            let phase = index % period
            let rise = min(half, phase < half ? phase : period - phase)
            let sample = Int16(rise * 2 * amplitude / half - amplitude)
            data += [UInt8(truncatingIfNeeded: sample), UInt8(truncatingIfNeeded: sample >> 8)]
        }
        let format = uint16LE(1) + uint16LE(1) + uint32LE(sampleRate) + uint32LE(sampleRate * 2) + uint16LE(2) + uint16LE(16)
        return fourCC("RIFF") + uint32LE(4 + 8 + format.count + 8 + data.count) + fourCC("WAVE")
            + fourCC("fmt ") + uint32LE(format.count) + format
            + fourCC("data") + uint32LE(data.count) + data
    }

    /// Writes a camera volume of sample recordings under `root`; see `SampleVolume`.
    /// - Returns: the paths written, relative to `root`, in the order written.
    public static func writeVolume(at root: URL, cameraSerial: String, officerNumber: String, start: String,
                                   videos: Int = 2, photos: Int = 1, audios: Int = 1,
                                   oddFiles: Bool = true) throws -> [String] {
        try SampleVolume(cameraSerial: cameraSerial, officerNumber: officerNumber, start: start,
                         videos: videos, photos: photos, audios: audios, oddFiles: oddFiles).write(at: root)
    }

    // MARK: Movies

    /// Seconds from 1904-01-01, the movie formats' epoch, to 1970-01-01.
    private static let secondsFrom1904To1970: Double = 2_082_844_800
    private static let timescale = 1000
    private static let videoWidth = 320, videoHeight = 240

    private static func movie(fileType: [UInt8], quickTime: Bool, durationSeconds: Double, createdAt: Date,
                              payloadBytes: Int, layout: MP4Layout) -> [UInt8] {
        precondition(durationSeconds >= 0 && payloadBytes >= 0, "a movie needs a duration and a payload size")
        let created = UInt64(max(0, (createdAt.timeIntervalSince1970 + secondsFrom1904To1970).rounded(.down)))
        let duration = UInt64((durationSeconds * Double(timescale)).rounded())
        let frame = baselineJPEG(width: videoWidth, height: videoHeight, exif: nil) { column, row in
            16 + (column + row) * 223 / ((videoWidth + videoHeight) / 8 - 2)
        }
        let payload = frame + filler(count: max(0, payloadBytes - frame.count))
        let dataHeader = layout.contains(.largeSizeData)
            ? uint32(1) + fourCC("mdat") + uint64(UInt64(16 + payload.count))
            : uint32(8 + payload.count) + fourCC("mdat")
        func movieBox(frameOffset: Int) -> [UInt8] {
            movieBoxBytes(quickTime: quickTime, created: created, duration: duration, frameSize: frame.count,
                          frameOffset: frameOffset, version1: layout.contains(.version1Headers))
        }
        // The frame's offset is written inside moov, whose size does not depend on it.
        let movieSize = movieBox(frameOffset: 0).count
        if layout.contains(.movieAfterData) {
            return fileType + dataHeader + payload + movieBox(frameOffset: fileType.count + dataHeader.count)
        }
        return fileType + movieBox(frameOffset: fileType.count + movieSize + dataHeader.count) + dataHeader + payload
    }

    /// moov: the movie header and one video track of one frame lasting the whole movie.
    private static func movieBoxBytes(quickTime: Bool, created: UInt64, duration: UInt64, frameSize: Int,
                                      frameOffset: Int, version1: Bool) -> [UInt8] {
        let wide = version1 || created > UInt64(UInt32.max) || duration > UInt64(UInt32.max)
        let version: UInt8 = wide ? 1 : 0
        // Creation and modification times, then (mvhd, mdhd) a timescale, then the duration:
        // 32 or 64 bits each by version.
        let times = wide ? uint64(created) + uint64(created) : uint32(Int(created)) + uint32(Int(created))
        let length = wide ? uint64(duration) : uint32(Int(duration))
        let unityMatrix = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000].flatMap { uint32($0) }

        let movieHeader = fullBox("mvhd", version: version, flags: 0, times + uint32(timescale) + length
            + uint32(0x0001_0000) + uint16(0x0100) + zeros(10) + unityMatrix + zeros(24) + uint32(2))
        let trackHeader = fullBox("tkhd", version: version, flags: 3, times + uint32(1) + zeros(4) + length
            + zeros(8) + uint16(0) + uint16(0) + uint16(0) + zeros(2) + unityMatrix
            + uint32(videoWidth << 16) + uint32(videoHeight << 16))
        let mediaHeader = fullBox("mdhd", version: version, flags: 0, times + uint32(timescale) + length
            + uint16(0x55C4) + uint16(0))  // language "und"
        let handler = fullBox("hdlr", version: 0, flags: 0, (quickTime ? fourCC("mhlr") : zeros(4)) + fourCC("vide")
            + zeros(12) + Array("VideoHandler".utf8) + [0])
        let visualFields = zeros(6) + uint16(1) + zeros(16) + uint16(videoWidth) + uint16(videoHeight)
            + uint32(0x0048_0000) + uint32(0x0048_0000) + zeros(4) + uint16(1) + zeros(32) + uint16(0x18) + uint16(0xFFFF)
        // QuickTime names Photo-JPEG directly; MP4 says mp4v with object type 0x6C (JPEG) in esds.
        let sampleEntry = quickTime
            ? box("jpeg", visualFields)
            : box("mp4v", visualFields + fullBox("esds", version: 0, flags: 0, elementaryStreamDescriptor(frameSize: frameSize)))
        let sampleTable = box("stbl",
            fullBox("stsd", version: 0, flags: 0, uint32(1) + sampleEntry)
            + fullBox("stts", version: 0, flags: 0, uint32(1) + uint32(1) + uint32(Int(min(duration, UInt64(UInt32.max)))))
            + fullBox("stsc", version: 0, flags: 0, uint32(1) + uint32(1) + uint32(1) + uint32(1))
            + fullBox("stsz", version: 0, flags: 0, uint32(0) + uint32(1) + uint32(frameSize))
            + fullBox("stco", version: 0, flags: 0, uint32(1) + uint32(frameOffset)))
        let mediaInformation = box("minf",
            fullBox("vmhd", version: 0, flags: 1, zeros(8))
            + box("dinf", fullBox("dref", version: 0, flags: 0, uint32(1) + fullBox("url ", version: 0, flags: 1, [])))
            + sampleTable)
        return box("moov", movieHeader
            + box("trak", trackHeader + box("mdia", mediaHeader + handler + mediaInformation)))
    }

    /// The MPEG-4 ES descriptor of a JPEG video stream: decoder config (object type 0x6C,
    /// visual stream) and the SL config MP4 files use.
    private static func elementaryStreamDescriptor(frameSize: Int) -> [UInt8] {
        func descriptor(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] { [tag, UInt8(body.count)] + body }
        let bitrate = uint32(frameSize * 8)
        let decoderConfig = descriptor(0x04, [0x6C, 0x04 << 2 | 1] + Array(uint32(frameSize).dropFirst()) + bitrate + bitrate)
        return descriptor(0x03, uint16(1) + [0] + decoderConfig + descriptor(0x06, [0x02]))
    }

    /// Stand-in for coded media: a fixed xorshift sequence, so every run writes the same bytes.
    private static func filler(count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    private static func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
        uint32(8 + body.count) + fourCC(type) + body
    }

    private static func fullBox(_ type: String, version: UInt8, flags: Int, _ body: [UInt8]) -> [UInt8] {
        box(type, [version] + Array(uint32(flags).dropFirst()) + body)
    }

    // MARK: Photos

    private static func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
        precondition(payload.count + 2 <= 0xFFFF, "a JPEG segment holds at most 65533 bytes")
        return [0xFF, marker] + uint16(payload.count + 2) + payload
    }

    /// A baseline greyscale JPEG whose 8×8 blocks are each flat, at `level(column, row)` (0…255, by block).
    /// Each block codes only its DC difference then end-of-block, with the standard luminance DC
    /// table and an AC table holding end-of-block alone; quantisation 1 keeps levels exact.
    private static func baselineJPEG(width: Int, height: Int, exif: [UInt8]?,
                                     level: (_ column: Int, _ row: Int) -> Int) -> [UInt8] {
        precondition((1...65_535).contains(width) && (1...65_535).contains(height), "JPEG sides are 1…65535 pixels")
        var bytes: [UInt8] = [0xFF, 0xD8]
        if let exif { bytes += segment(0xE1, Array("Exif".utf8) + [0, 0] + exif) }
        bytes += segment(0xDB, [0x00] + [UInt8](repeating: 1, count: 64))
        bytes += segment(0xC0, [8] + uint16(height) + uint16(width) + [1, 1, 0x11, 0])
        let endOfBlockOnly: [UInt8] = [1] + zeros(15) + [0x00]
        bytes += segment(0xC4, [0x00] + dcCodeLengthCounts + Array(0...11) + [0x10] + endOfBlockOnly)
        bytes += segment(0xDA, [1, 1, 0x00, 0, 63, 0])
        let dcCodes = canonicalCodes(lengthCounts: dcCodeLengthCounts)
        var scan = ScanWriter()
        var previous = 0
        for row in 0..<((height + 7) / 8) {
            for column in 0..<((width + 7) / 8) {
                // A flat block's DC coefficient is 8 × (level − 128) at quantisation 1.
                let coefficient = 8 * (min(255, max(0, level(column, row))) - 128)
                let difference = coefficient - previous
                previous = coefficient
                let category = difference == 0 ? 0 : Int.bitWidth - abs(difference).leadingZeroBitCount
                scan.write(dcCodes[category].code, bits: dcCodes[category].length)
                // Negative differences are written as difference − 1 in `category` bits (one's complement).
                if category > 0 { scan.write(difference > 0 ? difference : difference - 1, bits: category) }
                scan.write(0, bits: 1)  // end of block: every AC coefficient is zero
            }
        }
        return bytes + scan.finished() + [0xFF, 0xD9]
    }

    /// Code-length counts (1…16 bits) of the standard luminance DC table (ITU T.81 K.3), symbols 0…11.
    private static let dcCodeLengthCounts: [UInt8] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]

    /// The canonical Huffman codes for symbols 0, 1, … given how many codes have each length.
    private static func canonicalCodes(lengthCounts: [UInt8]) -> [(code: Int, length: Int)] {
        var codes: [(code: Int, length: Int)] = []
        var code = 0
        for (index, count) in lengthCounts.enumerated() {
            for _ in 0..<Int(count) {
                codes.append((code, index + 1))
                code += 1
            }
            code <<= 1
        }
        return codes
    }

    /// Entropy-coded bits, most significant first, with a 0 stuffed after every 0xFF byte.
    private struct ScanWriter {
        private var bytes: [UInt8] = []
        private var pending = 0
        private var pendingBits = 0

        mutating func write(_ value: Int, bits: Int) {
            for shift in stride(from: bits - 1, through: 0, by: -1) {
                pending = pending << 1 | (value >> shift) & 1
                pendingBits += 1
                if pendingBits == 8 { flush() }
            }
        }

        /// The bytes, the last one padded with 1 bits.
        mutating func finished() -> [UInt8] {
            if pendingBits > 0 { write(0xFF, bits: 8 - pendingBits) }
            return bytes
        }

        private mutating func flush() {
            bytes.append(UInt8(pending))
            if pending == 0xFF { bytes.append(0) }
            pending = 0
            pendingBits = 0
        }
    }

    /// The TIFF structure of an Exif segment: IFD0 (DateTime, Exif pointer), then the Exif
    /// sub-IFD (ExifVersion, DateTimeOriginal), then the two date strings.
    private static func exif(capturedAtLocal: String, byteOrder: ExifByteOrder) -> [UInt8] {
        let bigEndian = byteOrder == .bigEndian
        func short(_ value: Int) -> [UInt8] { bigEndian ? uint16(value) : uint16LE(value) }
        func long(_ value: Int) -> [UInt8] { bigEndian ? uint32(value) : uint32LE(value) }
        var text = Array(capturedAtLocal.utf8) + [0]
        if text.count % 2 == 1 { text.append(0) }  // keeps the second string's offset even, as TIFF asks
        let count = capturedAtLocal.utf8.count + 1
        func entry(tag: Int, type: Int, count: Int, value: [UInt8]) -> [UInt8] {
            short(tag) + short(type) + long(count) + value
        }
        func ascii(tag: Int, at offset: Int) -> [UInt8] {
            // Up to 4 bytes sit in the entry itself; longer strings are pointed to.
            count <= 4
                ? entry(tag: tag, type: 2, count: count, value: Array((text + zeros(4)).prefix(4)))
                : entry(tag: tag, type: 2, count: count, value: long(offset))
        }
        let headerSize = 8, ifdSize = 2 + 2 * 12 + 4
        let exifIFDOffset = headerSize + ifdSize
        let dateTimeOffset = exifIFDOffset + ifdSize
        let originalOffset = dateTimeOffset + text.count
        let header = (bigEndian ? Array("MM".utf8) : Array("II".utf8)) + short(42) + long(headerSize)
        let ifd0 = short(2) + ascii(tag: 0x0132, at: dateTimeOffset)
            + entry(tag: 0x8769, type: 4, count: 1, value: long(exifIFDOffset)) + long(0)
        let exifIFD = short(2) + entry(tag: 0x9000, type: 7, count: 4, value: Array("0230".utf8))
            + ascii(tag: 0x9003, at: originalOffset) + long(0)
        return header + ifd0 + exifIFD + (count <= 4 ? [] : text + text)
    }

    // MARK: Bytes

    private static func fourCC(_ code: String) -> [UInt8] {
        let bytes = Array(code.utf8)
        precondition(bytes.count == 4, "a four-character code has four ASCII characters")
        return bytes
    }

    private static func zeros(_ count: Int) -> [UInt8] {
        [UInt8](repeating: 0, count: count)
    }

    private static func uint16(_ value: Int) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    private static func uint32(_ value: Int) -> [UInt8] {
        [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    private static func uint64(_ value: UInt64) -> [UInt8] {
        [56, 48, 40, 32, 24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> UInt64($0)) }
    }

    private static func uint16LE(_ value: Int) -> [UInt8] {
        uint16(value).reversed()
    }

    private static func uint32LE(_ value: Int) -> [UInt8] {
        uint32(value).reversed()
    }
}

/// A body camera's volume of sample recordings, named and filed the way a GA/T 947 camera does
/// (`DCIM/` videos, `PHOTO/` photos, `AUDIO/` audio, named `<serial>_<officer>_<time>_<seq>.<ext>`),
/// one after another in time with rising sequence numbers; the first video is marked `_IMP`.
///
/// With `oddFiles`, the volume also holds what collection must cope with: `RECORD/notes.txt`,
/// whose name breaks the rule; an empty `RECORD/…_0099.MP4`; and `DCIM/…_0098.MP4`, cut off
/// in the middle of its mdat.
public struct SampleVolume: Sendable {
    /// The camera's 7-character serial, used in every name.
    public var cameraSerial: String
    /// The bound officer's 6-digit number, used in every name.
    public var officerNumber: String
    /// The first recording's start on the camera's clock, "YYYYMMDDhhmmss".
    public var start: String
    /// How many recordings of each kind.
    public var videos: Int, photos: Int, audios: Int
    /// Whether to add the misnamed, empty and truncated files.
    public var oddFiles: Bool
    /// The camera unit's time zone: its clock is local time, a movie header's creation time is UTC.
    public var timeZone: TimeZone

    /// China Standard Time, where GA/T 947 cameras run.
    public static let chinaStandardTime = TimeZone(secondsFromGMT: 8 * 3600)!

    /// A volume plan; nothing is written until `write(at:)`.
    public init(cameraSerial: String, officerNumber: String, start: String, videos: Int = 2, photos: Int = 1,
                audios: Int = 1, oddFiles: Bool = true, timeZone: TimeZone = chinaStandardTime) {
        self.cameraSerial = cameraSerial
        self.officerNumber = officerNumber
        self.start = start
        self.videos = videos
        self.photos = photos
        self.audios = audios
        self.oddFiles = oddFiles
        self.timeZone = timeZone
    }

    /// Writes the recordings under `root`, creating folders as needed and replacing files of the same name.
    /// - Returns: the paths written, relative to `root`, in the order written.
    public func write(at root: URL) throws -> [String] {
        guard var clock = CameraClock(start) else { throw SampleVolumeError.invalidStart(start) }
        var written: [String] = []
        var sequence = 0
        func name(_ folder: String, _ time: String, _ sequenceNumber: Int, important: Bool = false,
                  extension fileExtension: String) -> String {
            "\(folder)/\(cameraSerial)_\(officerNumber)_\(time)_\(String(format: "%04d", sequenceNumber))"
                + (important ? "_IMP" : "") + ".\(fileExtension)"
        }
        func put(_ bytes: [UInt8], at relativePath: String) throws {
            let url = root.appendingPathComponent(relativePath)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            written.append(relativePath)
        }

        for index in 0..<videos {
            sequence += 1
            let seconds = 20.0 + 10.0 * Double(index)
            let movie = SampleRecordings.mp4(durationSeconds: seconds, createdAt: clock.date(in: timeZone),
                                             payloadBytes: 4096 + 1024 * index)
            try put(movie, at: name("DCIM", clock.nameTime, sequence, important: index == 0, extension: "MP4"))
            clock.advance(seconds: Int(seconds) + 60)
        }
        for _ in 0..<photos {
            sequence += 1
            try put(SampleRecordings.jpeg(capturedAtLocal: clock.exifTime),
                    at: name("PHOTO", clock.nameTime, sequence, extension: "JPG"))
            clock.advance(seconds: 30)
        }
        for index in 0..<audios {
            sequence += 1
            let seconds = 3.0 + Double(index)
            try put(SampleRecordings.wav(durationSeconds: seconds), at: name("AUDIO", clock.nameTime, sequence, extension: "WAV"))
            clock.advance(seconds: Int(seconds) + 60)
        }
        if oddFiles {
            try put(Array("Shift notes: camera handed over at 18:00.\n".utf8), at: "RECORD/notes.txt")
            try put([], at: name("RECORD", clock.nameTime, 99, extension: "MP4"))
            clock.advance(seconds: 60)
            let whole = SampleRecordings.mp4(durationSeconds: 15, createdAt: clock.date(in: timeZone))
            // The payload (4096 bytes) is the file's tail, so this cuts its mdat in half.
            try put(Array(whole.dropLast(2048)), at: name("DCIM", clock.nameTime, 98, extension: "MP4"))
        }
        return written
    }

    /// The camera's clock as naive local time, read from and written as "YYYYMMDDhhmmss".
    private struct CameraClock {
        private static let naiveCalendar: Calendar = {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(secondsFromGMT: 0)!
            return calendar
        }()
        private var fields: DateComponents

        init?(_ text: String) {
            let digits = Array(text.utf8)
            guard digits.count == 14, digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                return nil
            }
            func number(_ start: Int, _ count: Int) -> Int { Int(String(decoding: digits[start..<(start + count)], as: UTF8.self))! }
            let fields = DateComponents(year: number(0, 4), month: number(4, 2), day: number(6, 2),
                                        hour: number(8, 2), minute: number(10, 2), second: number(12, 2))
            // Refuse what the calendar would silently roll over (month 13, 31 April, hour 24).
            guard let date = Self.naiveCalendar.date(from: fields) else { return nil }
            let placed = Self.naiveCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
            guard [placed.year, placed.month, placed.day, placed.hour, placed.minute, placed.second]
                    == [fields.year, fields.month, fields.day, fields.hour, fields.minute, fields.second]
            else { return nil }
            self.fields = fields
        }

        var nameTime: String { format("%04d%02d%02d%02d%02d%02d") }
        var exifTime: String { format("%04d:%02d:%02d %02d:%02d:%02d") }

        func date(in timeZone: TimeZone) -> Date {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            return calendar.date(from: fields)!
        }

        mutating func advance(seconds: Int) {
            let later = Self.naiveCalendar.date(byAdding: .second, value: seconds, to: Self.naiveCalendar.date(from: fields)!)!
            fields = Self.naiveCalendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: later)
        }

        private func format(_ pattern: String) -> String {
            String(format: pattern, fields.year!, fields.month!, fields.day!, fields.hour!, fields.minute!, fields.second!)
        }
    }
}

/// Why a `SampleVolume` could not be written (file system errors pass through as they are).
public enum SampleVolumeError: Error, Equatable, CustomStringConvertible {
    /// The start was not a real date and time written "YYYYMMDDhhmmss".
    case invalidStart(String)

    public var description: String {
        switch self {
        case .invalidStart(let text): "sample volume start '\(text)' is not a date and time written YYYYMMDDhhmmss"
        }
    }
}
