import Evidence
import Foundation
import USBEmulation
import XCTest

final class MediaProbeTests: XCTestCase {
    /// 2024-11-05 01:30:12 UTC (09:30:12 in Beijing).
    let createdAt = Date(timeIntervalSince1970: 1_730_770_212)

    // MARK: MP4 and MOV

    func testGeneratedMP4GivesDurationAndCreationTime() throws {
        let folder = try makeTemporaryFolder()
        let path = try write(SampleRecordings.mp4(durationSeconds: 12.345, createdAt: createdAt), named: "clip.MP4", in: folder)
        let info = MediaProbe.probe(fileAt: path)
        XCTAssertEqual(info.mediaType, .video)
        XCTAssertEqual(info.container, "mp4")
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 12.345, accuracy: 0.01)
        XCTAssertEqual(info.createdAt, createdAt)
        XCTAssertNil(info.capturedAtLocal)
        XCTAssertEqual(info.problems, [])
    }

    func testGeneratedMOVIsAQuickTimeVideo() throws {
        let folder = try makeTemporaryFolder()
        let path = try write(SampleRecordings.mov(durationSeconds: 7.5, createdAt: createdAt), named: "clip.MOV", in: folder)
        let info = MediaProbe.probe(fileAt: path)
        XCTAssertEqual(info.mediaType, .video)
        XCTAssertEqual(info.container, "mov")
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 7.5, accuracy: 0.01)
        XCTAssertEqual(info.createdAt, createdAt)
        XCTAssertEqual(info.problems, [])
    }

    func testVersion1HeadersLargeSizeDataAndMovieAfterData() throws {
        let folder = try makeTemporaryFolder()
        let layouts: [SampleRecordings.MP4Layout] = [
            .version1Headers, .largeSizeData, .movieAfterData, [.movieAfterData, .largeSizeData, .version1Headers],
        ]
        for layout in layouts {
            let bytes = SampleRecordings.mp4(durationSeconds: 61.5, createdAt: createdAt, layout: layout)
            let info = MediaProbe.probe(fileAt: try write(bytes, named: "layout-\(layout.rawValue).mp4", in: folder))
            XCTAssertEqual(info.mediaType, .video, "layout \(layout.rawValue)")
            XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 61.5, accuracy: 0.01, "layout \(layout.rawValue)")
            XCTAssertEqual(info.createdAt, createdAt, "layout \(layout.rawValue)")
            XCTAssertEqual(info.problems, [], "layout \(layout.rawValue)")
        }
    }

    func testMovieAfterDataReallyPutsMdatFirst() throws {
        let offsets = topLevelBoxOffsets(SampleRecordings.mp4(durationSeconds: 1, createdAt: createdAt, layout: .movieAfterData))
        XCTAssertLessThan(try XCTUnwrap(offsets["mdat"]), try XCTUnwrap(offsets["moov"]))
    }

    func testAnMdatRunningToTheEndOfTheFileIsWhole() throws {
        var bytes = SampleRecordings.mp4(durationSeconds: 3, createdAt: createdAt)
        let mdat = try XCTUnwrap(topLevelBoxOffsets(bytes)["mdat"])
        bytes.replaceSubrange(mdat..<(mdat + 4), with: [0, 0, 0, 0])  // size 0: "to the end of the file"
        let info = MediaProbe.probe(fileAt: try write(bytes, named: "to-end.mp4", in: try makeTemporaryFolder()))
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 3, accuracy: 0.01)
        XCTAssertEqual(info.problems, [])
    }

    func testTruncatedMP4IsStillAVideoWithTheProblemStated() throws {
        let whole = SampleRecordings.mp4(durationSeconds: 30, createdAt: createdAt, payloadBytes: 8192)
        let mdat = try XCTUnwrap(topLevelBoxOffsets(whole)["mdat"])
        let cut = Array(whole.prefix(mdat + 8 + 3000))
        let info = MediaProbe.probe(fileAt: try write(cut, named: "cut.MP4", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .video)
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 30, accuracy: 0.01, "the movie header came before the cut")
        XCTAssertEqual(info.createdAt, createdAt)
        XCTAssertEqual(info.problems, ["truncated MP4: box 'mdat' claims \(8 + 8192) bytes but the file ends at \(cut.count)"])
    }

    func testMP4CutBeforeItsMovieBoxSaysSo() throws {
        let whole = SampleRecordings.mp4(durationSeconds: 30, createdAt: createdAt, layout: .movieAfterData)
        let cut = Array(whole.prefix(whole.count / 2))
        let info = MediaProbe.probe(fileAt: try write(cut, named: "cut.MP4", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .video)
        XCTAssertEqual(info.container, "mp4")
        XCTAssertNil(info.durationSeconds)
        XCTAssertNil(info.createdAt)
        XCTAssertEqual(info.problems.count, 2)
        XCTAssertTrue(info.problems[0].hasPrefix("truncated MP4: box 'mdat' claims"), info.problems[0])
        XCTAssertEqual(info.problems[1], "MP4 has no moov box")
    }

    func testALargeSizeClaimPastTheEndIsTruncation() throws {
        var bytes = SampleRecordings.mp4(durationSeconds: 4, createdAt: createdAt, layout: .largeSizeData)
        let mdat = try XCTUnwrap(topLevelBoxOffsets(bytes)["mdat"])
        let claimed: UInt64 = 5_000_000_000
        bytes.replaceSubrange((mdat + 8)..<(mdat + 16), with: (0..<8).reversed().map { UInt8(truncatingIfNeeded: claimed >> ($0 * 8)) })
        let info = MediaProbe.probe(fileAt: try write(bytes, named: "large.mp4", in: try makeTemporaryFolder()))
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 4, accuracy: 0.01)
        XCTAssertEqual(info.problems, ["truncated MP4: box 'mdat' claims 5000000000 bytes but the file ends at \(bytes.count)"])
    }

    func testAFiveGigabyteMP4IsProbedWithoutReadingIt() throws {
        // A sparse file: 5 GB long, only the headers written. Reading it whole would take seconds.
        let head = SampleRecordings.mp4(durationSeconds: 3600, createdAt: createdAt, payloadBytes: 0,
                                        layout: [.movieAfterData, .largeSizeData, .version1Headers])
        let offsets = topLevelBoxOffsets(head)
        let mdat = try XCTUnwrap(offsets["mdat"]), moov = try XCTUnwrap(offsets["moov"])
        let movie = Array(head[moov...])
        let size: UInt64 = 5_000_000_000
        let mdatSize = size - UInt64(mdat) - UInt64(movie.count)
        var start = Array(head[..<mdat]) + [0, 0, 0, 1] + Array("mdat".utf8)
        start += (0..<8).reversed().map { UInt8(truncatingIfNeeded: mdatSize >> ($0 * 8)) }
        let path = try write(start, named: "long.MP4", in: try makeTemporaryFolder())
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: size - UInt64(movie.count))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(movie))
        try handle.close()

        let info = MediaProbe.probe(fileAt: path)
        XCTAssertEqual(info.mediaType, .video)
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 3600, accuracy: 0.01)
        XCTAssertEqual(info.createdAt, createdAt)
        XCTAssertEqual(info.problems, [])
    }

    func testAnM4ABrandIsAudio() throws {
        var bytes = SampleRecordings.mp4(durationSeconds: 2, createdAt: createdAt)
        bytes.replaceSubrange(8..<12, with: Array("M4A ".utf8))
        let info = MediaProbe.probe(fileAt: try write(bytes, named: "voice.m4a", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .audio)
        XCTAssertEqual(info.container, "mp4")
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 2, accuracy: 0.01)
    }

    func testAQuickTimeMovieWithoutFtypIsStillAMovie() throws {
        let bytes = SampleRecordings.mov(durationSeconds: 9, createdAt: createdAt)
        let moov = try XCTUnwrap(topLevelBoxOffsets(bytes)["moov"])
        let info = MediaProbe.probe(fileAt: try write(Array(bytes[moov...]), named: "old.mov", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .video)
        XCTAssertEqual(info.container, "mov")
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 9, accuracy: 0.01)
    }

    func testImpossibleBoxSizesAreReportedNotFollowed() throws {
        let folder = try makeTemporaryFolder()
        let fileType = Array(SampleRecordings.mp4(durationSeconds: 1, createdAt: createdAt).prefix(28))
        XCTAssertEqual(topLevelBoxOffsets(fileType)["ftyp"], 0)

        let tooSmall = fileType + [0, 0, 0, 3] + Array("free".utf8) + [UInt8](repeating: 0, count: 32)
        let small = MediaProbe.probe(fileAt: try write(tooSmall, named: "small.mp4", in: folder))
        XCTAssertEqual(small.mediaType, .video)
        XCTAssertEqual(small.problems, ["damaged MP4: box 'free' at offset 28 declares 3 bytes, fewer than its own header",
                                        "MP4 has no moov box"])

        let endless = fileType + [0, 0, 0, 1] + Array("mdat".utf8) + [UInt8](repeating: 0xFF, count: 8)
        let huge = MediaProbe.probe(fileAt: try write(endless, named: "huge.mp4", in: folder))
        XCTAssertEqual(huge.problems.first, "damaged MP4: box 'mdat' at offset 28 declares an impossible size 18446744073709551615")

        let cutHeader = fileType + [0, 0, 0x10]
        let cut = MediaProbe.probe(fileAt: try write(cutHeader, named: "cut-header.mp4", in: folder))
        XCTAssertEqual(cut.problems.first, "truncated MP4: a box header at offset 28 is cut off by the end of the file at 31")
    }

    // MARK: JPEG

    func testGeneratedJPEGGivesTheExifTimeExactly() throws {
        let folder = try makeTemporaryFolder()
        for order in [SampleRecordings.ExifByteOrder.littleEndian, .bigEndian] {
            let bytes = SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12", width: 40, height: 24, exifByteOrder: order)
            let info = MediaProbe.probe(fileAt: try write(bytes, named: "photo-\(order).JPG", in: folder))
            XCTAssertEqual(info.mediaType, .photo, "\(order)")
            XCTAssertEqual(info.container, "jpeg", "\(order)")
            XCTAssertEqual(info.capturedAtLocal, "2024:11:05 09:30:12", "\(order)")
            XCTAssertNil(info.durationSeconds)
            XCTAssertNil(info.createdAt)
            XCTAssertEqual(info.problems, [], "\(order)")
        }
    }

    func testWithoutDateTimeOriginalIFD0DateTimeIsUsed() throws {
        var bytes = SampleRecordings.jpeg(capturedAtLocal: "2023:01:02 03:04:05")
        // Rename the Exif sub-IFD's DateTimeOriginal (0x9003) to DateTimeDigitized (0x9004).
        let original: [UInt8] = [0x03, 0x90, 0x02, 0x00]
        let at = try XCTUnwrap((0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == original })
        bytes[at] = 0x04
        let info = MediaProbe.probe(fileAt: try write(bytes, named: "fallback.jpg", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.capturedAtLocal, "2023:01:02 03:04:05")
        XCTAssertEqual(info.problems, [])
    }

    func testContentNotExtensionDecidesTheType() throws {
        let folder = try makeTemporaryFolder()
        let photo = SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12")
        let photoNamedAsVideo = MediaProbe.probe(fileAt: try write(photo, named: "A123456_010203_20241105093012_0001.MP4", in: folder))
        XCTAssertEqual(photoNamedAsVideo.mediaType, .photo)
        XCTAssertEqual(photoNamedAsVideo.capturedAtLocal, "2024:11:05 09:30:12")

        let video = SampleRecordings.mp4(durationSeconds: 5, createdAt: createdAt)
        XCTAssertEqual(MediaProbe.probe(fileAt: try write(video, named: "clip.JPG", in: folder)).mediaType, .video)
        XCTAssertEqual(MediaProbe.probe(fileAt: try write(SampleRecordings.wav(durationSeconds: 1), named: "a.txt", in: folder)).mediaType, .audio)
    }

    func testTruncatedJPEGIsStillAPhotoWithTheProblemStated() throws {
        let folder = try makeTemporaryFolder()
        let whole = SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12", width: 320, height: 240)
        let withoutEnd = MediaProbe.probe(fileAt: try write(Array(whole.dropLast(2)), named: "no-eoi.jpg", in: folder))
        XCTAssertEqual(withoutEnd.mediaType, .photo)
        XCTAssertEqual(withoutEnd.capturedAtLocal, "2024:11:05 09:30:12")
        XCTAssertEqual(withoutEnd.problems, ["truncated JPEG: no end-of-image marker after the image data"])

        let inHeaders = MediaProbe.probe(fileAt: try write(Array(whole.prefix(100)), named: "cut.jpg", in: folder))
        XCTAssertEqual(inHeaders.mediaType, .photo)
        XCTAssertEqual(inHeaders.problems.count, 1)
        XCTAssertTrue(inHeaders.problems[0].hasPrefix("truncated JPEG: segment 0xFFE1 at offset 2 claims"), inHeaders.problems[0])
    }

    func testAHugeBogusSegmentLengthIsBounded() throws {
        let folder = try makeTemporaryFolder()
        let bogus: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF] + Array("Exif".utf8) + [0, 0, 0x49, 0x49]
        let info = MediaProbe.probe(fileAt: try write(bogus, named: "bogus.jpg", in: folder))
        XCTAssertEqual(info.mediaType, .photo)
        XCTAssertNil(info.capturedAtLocal)
        XCTAssertEqual(info.problems, ["truncated JPEG: segment 0xFFE1 at offset 2 claims 65535 bytes but the file ends at 14"])

        // Nothing but fill bytes after SOI: the walk gives up after a bounded number of steps.
        let fill = [0xFF, 0xD8] + [UInt8](repeating: 0xFF, count: 300_000)
        let filled = MediaProbe.probe(fileAt: try write(fill, named: "fill.jpg", in: folder))
        XCTAssertEqual(filled.mediaType, .photo)
        XCTAssertFalse(filled.problems.isEmpty)
    }

    func testHostileExifOffsetsAndCountsAreIgnored() throws {
        let photo = SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12")
        let app1Length = Int(photo[4]) << 8 | Int(photo[5])
        let afterApp1 = Array(photo[(4 + app1Length)...])
        // IFD0 claims 65535 entries; its one real entry is an Exif pointer far outside the segment,
        // and a DateTime whose string lies out of bounds with a count of 4 GB.
        var tiff: [UInt8] = Array("II".utf8) + [42, 0, 8, 0, 0, 0] + [0xFF, 0xFF]
        tiff += [0x32, 0x01, 2, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0xFF]
        tiff += [0x69, 0x87, 4, 0, 1, 0, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF]
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let hostile = [0xFF, 0xD8, 0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload + afterApp1
        let info = MediaProbe.probe(fileAt: try write(hostile, named: "hostile.jpg", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .photo)
        XCTAssertNil(info.capturedAtLocal)
        XCTAssertEqual(info.problems, [])
    }

    // MARK: Audio

    func testGeneratedWAVGivesItsDuration() throws {
        let info = MediaProbe.probe(fileAt: try write(SampleRecordings.wav(durationSeconds: 2.5), named: "a.WAV",
                                                      in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .audio)
        XCTAssertEqual(info.container, "wav")
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 2.5, accuracy: 0.01)
        XCTAssertEqual(info.problems, [])
    }

    func testTruncatedWAVCountsWhatIsThere() throws {
        let whole = SampleRecordings.wav(durationSeconds: 2.5, sampleRate: 8000)
        let cut = Array(whole.prefix(44 + 20_000))
        let info = MediaProbe.probe(fileAt: try write(cut, named: "cut.wav", in: try makeTemporaryFolder()))
        XCTAssertEqual(info.mediaType, .audio)
        XCTAssertEqual(try XCTUnwrap(info.durationSeconds), 1.25, accuracy: 0.01)
        XCTAssertEqual(info.problems, ["truncated WAV: chunk 'data' claims 40000 bytes but the file ends at 20044"])
    }

    func testMP3AndAACAreToldApartByTheirFrames() throws {
        let folder = try makeTemporaryFolder()
        let mpegFrame: [UInt8] = [0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 413)
        let adtsFrame: [UInt8] = [0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC] + [UInt8](repeating: 0, count: 9)
        let id3: [UInt8] = Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 10] + [UInt8](repeating: 0, count: 10)
        let cases: [(bytes: [UInt8], container: String)] = [
            (mpegFrame, "mp3"), (id3 + mpegFrame, "mp3"), (adtsFrame, "aac"), (id3 + adtsFrame, "aac"),
        ]
        for (index, entry) in cases.enumerated() {
            let info = MediaProbe.probe(fileAt: try write(entry.bytes, named: "audio-\(index)", in: folder))
            XCTAssertEqual(info.mediaType, .audio, "case \(index)")
            XCTAssertEqual(info.container, entry.container, "case \(index)")
            XCTAssertEqual(info.problems, [], "case \(index)")
        }
    }

    // MARK: Files that are not media

    func testAnEmptyFileIsUnknown() throws {
        let info = MediaProbe.probe(fileAt: try write([], named: "A123456_010203_20241105093012_0099.MP4", in: try makeTemporaryFolder()))
        XCTAssertEqual(info, MediaInfo(mediaType: .unknown, problems: ["empty file"]))
    }

    func testRandomGarbageIsUnknown() throws {
        let folder = try makeTemporaryFolder()
        for seed: UInt64 in [1, 2, 3, 0x5EED] {
            let info = MediaProbe.probe(fileAt: try write(seededBytes(count: 65_536, seed: seed), named: "garbage-\(seed)", in: folder))
            XCTAssertEqual(info.mediaType, .unknown, "seed \(seed)")
            XCTAssertEqual(info.problems, ["content not recognised as video, photo or audio"], "seed \(seed)")
        }
        let text = MediaProbe.probe(fileAt: try write(Array("Shift notes\n".utf8), named: "notes.txt", in: folder))
        XCTAssertEqual(text.mediaType, .unknown)
    }

    func testUnreadableAndNonRegularFilesAreUnknown() throws {
        let folder = try makeTemporaryFolder()
        let missing = MediaProbe.probe(fileAt: folder.appendingPathComponent("missing.MP4").path)
        XCTAssertEqual(missing.mediaType, .unknown)
        XCTAssertEqual(missing.problems, ["cannot be opened: No such file or directory"])

        let directory = MediaProbe.probe(fileAt: folder.path)
        XCTAssertEqual(directory.mediaType, .unknown)
        XCTAssertEqual(directory.problems, ["not a regular file"])
    }
}
