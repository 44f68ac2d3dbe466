import Evidence
import Foundation
import USBEmulation
import XCTest

final class SampleRecordingsTests: XCTestCase {
    func testGeneratorsAreDeterministic() {
        let created = Date(timeIntervalSince1970: 1_730_770_212)
        XCTAssertEqual(SampleRecordings.mp4(durationSeconds: 10, createdAt: created),
                       SampleRecordings.mp4(durationSeconds: 10, createdAt: created))
        XCTAssertEqual(SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12"),
                       SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12"))
        XCTAssertEqual(SampleRecordings.wav(durationSeconds: 1), SampleRecordings.wav(durationSeconds: 1))
    }

    func testMP4PayloadSizeIsTheMdatPayload() throws {
        let bytes = SampleRecordings.mp4(durationSeconds: 1, createdAt: Date(timeIntervalSince1970: 0), payloadBytes: 10_000)
        let mdat = try XCTUnwrap(topLevelBoxOffsets(bytes)["mdat"])
        XCTAssertEqual(bytes.count - mdat, 8 + 10_000)
    }

    func testTheJPEGScanIsHuffmanCodedBlockByBlock() {
        // 16×8 is two blocks; each codes DC category 0 ("00") and end of block ("0"): 6 bits, then 2 padding 1 bits.
        let bytes = SampleRecordings.jpeg(capturedAtLocal: "2024:11:05 09:30:12", width: 16, height: 8)
        XCTAssertEqual(Array(bytes.suffix(3)), [0b0000_0011, 0xFF, 0xD9])
    }

    func testAVolumeIsLaidOutAsACameraWritesIt() throws {
        let root = try makeTemporaryFolder()
        let written = try SampleRecordings.writeVolume(at: root, cameraSerial: "A123456", officerNumber: "010203",
                                                       start: "20241105093012")
        XCTAssertEqual(written, [
            "DCIM/A123456_010203_20241105093012_0001_IMP.MP4",
            "DCIM/A123456_010203_20241105093132_0002.MP4",
            "PHOTO/A123456_010203_20241105093302_0003.JPG",
            "AUDIO/A123456_010203_20241105093332_0004.WAV",
            "RECORD/notes.txt",
            "RECORD/A123456_010203_20241105093435_0099.MP4",
            "DCIM/A123456_010203_20241105093535_0098.MP4",
        ])
        let beijing = try XCTUnwrap(TimeZone(secondsFromGMT: 8 * 3600))
        var sequences: [Int] = []
        for path in written.prefix(4) {
            let name = try XCTUnwrap(RecordingName.parse(URL(fileURLWithPath: path).lastPathComponent), path)
            XCTAssertEqual(name.cameraSerial, "A123456")
            XCTAssertEqual(name.officerNumber, "010203")
            sequences.append(name.sequence)
            let info = MediaProbe.probe(fileAt: root.appendingPathComponent(path).path)
            XCTAssertEqual(info.problems, [], path)
            switch name.fileExtension {
            case "MP4":
                XCTAssertEqual(info.mediaType, .video, path)
                XCTAssertEqual(info.createdAt, name.startDate(in: beijing), path)
            case "JPG":
                XCTAssertEqual(info.mediaType, .photo, path)
                let fields = name.startedAtComponents
                XCTAssertEqual(info.capturedAtLocal, String(format: "%04d:%02d:%02d %02d:%02d:%02d", fields.year!,
                                                            fields.month!, fields.day!, fields.hour!, fields.minute!, fields.second!))
            default:
                XCTAssertEqual(info.mediaType, .audio, path)
            }
        }
        XCTAssertEqual(sequences, [1, 2, 3, 4])

        XCTAssertNil(RecordingName.parse("notes.txt"))
        let empty = root.appendingPathComponent(written[5]).path
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int, 0)
        XCTAssertEqual(MediaProbe.probe(fileAt: empty).problems, ["empty file"])
        let truncated = MediaProbe.probe(fileAt: root.appendingPathComponent(written[6]).path)
        XCTAssertEqual(truncated.mediaType, .video)
        XCTAssertTrue(truncated.problems.first?.hasPrefix("truncated MP4: box 'mdat'") == true, "\(truncated.problems)")
    }

    func testAVolumeWithoutOddFilesHoldsOnlyRecordings() throws {
        let root = try makeTemporaryFolder()
        let written = try SampleVolume(cameraSerial: "Z000001", officerNumber: "123456", start: "20241231235930",
                                       videos: 1, photos: 2, audios: 0, oddFiles: false).write(at: root)
        XCTAssertEqual(written, [
            "DCIM/Z000001_123456_20241231235930_0001_IMP.MP4",
            "PHOTO/Z000001_123456_20250101000050_0002.JPG",
            "PHOTO/Z000001_123456_20250101000120_0003.JPG",
        ])
    }

    func testAnInvalidStartIsRefused() throws {
        let root = try makeTemporaryFolder()
        XCTAssertThrowsError(try SampleRecordings.writeVolume(at: root, cameraSerial: "A123456", officerNumber: "010203",
                                                              start: "20241305093012")) { error in
            XCTAssertEqual(error as? SampleVolumeError, .invalidStart("20241305093012"))
        }
    }
}
