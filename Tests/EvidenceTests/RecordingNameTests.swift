import Evidence
import Foundation
import XCTest

final class RecordingNameTests: XCTestCase {
    func testTheProtocolsExampleParsesIntoEveryField() throws {
        let name = try XCTUnwrap(RecordingName.parse("A123456_010203_20241105093012_0001_IMP.MP4"))
        XCTAssertEqual(name.cameraSerial, "A123456")
        XCTAssertEqual(name.officerNumber, "010203")
        XCTAssertEqual(name.startedAt, "20241105093012")
        XCTAssertEqual(name.sequenceText, "0001")
        XCTAssertEqual(name.sequence, 1)
        XCTAssertTrue(name.important)
        XCTAssertEqual(name.fileExtension, "MP4")
        XCTAssertEqual(name.fileName, "A123456_010203_20241105093012_0001_IMP.MP4")
        let fields = name.startedAtComponents
        XCTAssertEqual([fields.year, fields.month, fields.day, fields.hour, fields.minute, fields.second],
                       [2024, 11, 5, 9, 30, 12])
    }

    func testTheStartIsTheCameraUnitsLocalTime() throws {
        let name = try XCTUnwrap(RecordingName.parse("A123456_010203_20241105093012_0001.MP4"))
        let beijing = try XCTUnwrap(TimeZone(secondsFromGMT: 8 * 3600))
        // 09:30:12 in Beijing is 01:30:12 UTC.
        XCTAssertEqual(name.startDate(in: beijing), Date(timeIntervalSince1970: 1_730_770_212))
        XCTAssertEqual(name.startDate(in: TimeZone(secondsFromGMT: 0)!), Date(timeIntervalSince1970: 1_730_799_012))
    }

    func testLowerCaseExtensionAndMarkAreAccepted() throws {
        let name = try XCTUnwrap(RecordingName.parse("a123456_010203_20241105093012_0007_imp.mp4"))
        XCTAssertEqual(name.cameraSerial, "a123456", "the serial is kept as written")
        XCTAssertEqual(name.fileExtension, "MP4")
        XCTAssertTrue(name.important)
        XCTAssertEqual(name.sequence, 7)
    }

    func testANameWithoutTheMarkIsNotImportant() throws {
        let name = try XCTUnwrap(RecordingName.parse("B765432_999999_20231231235959_12.wav"))
        XCTAssertEqual(name.cameraSerial, "B765432")
        XCTAssertEqual(name.officerNumber, "999999")
        XCTAssertFalse(name.important)
        XCTAssertEqual(name.sequenceText, "12")
        XCTAssertEqual(name.sequence, 12)
        XCTAssertEqual(name.fileExtension, "WAV")
    }

    func testEveryAllowedExtensionParses() {
        for fileExtension in ["MP4", "MOV", "JPG", "JPEG", "WAV", "AAC", "MP3", "Jpeg", "mov"] {
            XCTAssertEqual(RecordingName.parse("A123456_010203_20241105093012_0001.\(fileExtension)")?.fileExtension,
                           fileExtension.uppercased(), fileExtension)
        }
    }

    func testALeapDayParsesOnlyInALeapYear() {
        XCTAssertNotNil(RecordingName.parse("A123456_010203_20240229120000_0001.MP4"))
        XCTAssertNotNil(RecordingName.parse("A123456_010203_20000229120000_0001.MP4"))
        XCTAssertNil(RecordingName.parse("A123456_010203_20230229120000_0001.MP4"))
        XCTAssertNil(RecordingName.parse("A123456_010203_19000229120000_0001.MP4"))
    }

    func testEveryBreakOfTheRuleGivesNil() {
        let broken = [
            "": "empty",
            ".MP4": "only an extension",
            "A12345_010203_20241105093012_0001.MP4": "6-character serial",
            "A1234567_010203_20241105093012_0001.MP4": "8-character serial",
            "A12-456_010203_20241105093012_0001.MP4": "punctuation in the serial",
            "A123456_01020_20241105093012_0001.MP4": "5-digit officer number",
            "A123456_01020X_20241105093012_0001.MP4": "a letter in the officer number",
            "A123456_010203_20241305093012_0001.MP4": "month 13",
            "A123456_010203_20241100093012_0001.MP4": "day 0",
            "A123456_010203_20241131093012_0001.MP4": "31 November",
            "A123456_010203_20241105243012_0001.MP4": "hour 24",
            "A123456_010203_20241105096012_0001.MP4": "minute 60",
            "A123456_010203_20241105093060_0001.MP4": "second 60",
            "A123456_010203_00001105093012_0001.MP4": "year 0",
            "A123456_010203_2024110509301_0001.MP4": "13-digit time",
            "A123456_010203_20241105093012.MP4": "missing sequence",
            "A123456_010203_20241105093012_.MP4": "empty sequence",
            "A123456_010203_20241105093012_00A1.MP4": "a letter in the sequence",
            "A123456_010203_20241105093012_0000000001.MP4": "10-digit sequence",
            "A123456_010203_20241105093012_0001_IMP_2.MP4": "extra field after the mark",
            "A123456_010203_20241105093012_0001_KEY.MP4": "extra field instead of the mark",
            "A123456__010203_20241105093012_0001.MP4": "empty field",
            "A123456_010203_20241105093012_0001.AVI": "unknown extension",
            "A123456_010203_20241105093012_0001.MP4.txt": "a second extension",
            "A123456_010203_20241105093012_0001": "no extension",
            "A123456_010203_20241105093012_0001..MP4": "double dot",
            "../A123456_010203_20241105093012_0001.MP4": "parent folder",
            "DCIM/A123456_010203_20241105093012_0001.MP4": "a folder",
            " A123456_010203_20241105093012_0001.MP4": "leading space",
            "A123456_010203_20241105093012_0001.MP4 ": "trailing space",
            "A123456_٠١٠٢٠٣_20241105093012_0001.MP4": "Arabic-Indic digits",
            "Ａ123456_010203_20241105093012_0001.MP4": "a full-width letter",
            "A123456_010203_20241105093012_0001\u{301}.MP4": "a combining mark",
        ]
        for (fileName, reason) in broken {
            XCTAssertNil(RecordingName.parse(fileName), "\(reason): \(fileName)")
        }
    }

    func testCodableRoundTripsAndRefusesATamperedValue() throws {
        let name = try XCTUnwrap(RecordingName.parse("A123456_010203_20241105093012_0042_IMP.jpg"))
        let encoded = try JSONEncoder().encode(name)
        XCTAssertEqual(try JSONDecoder().decode(RecordingName.self, from: encoded), name)

        var fields = try XCTUnwrap(JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        XCTAssertEqual(fields["sequence"] as? Int, 42)
        fields["startedAt"] = "20241305093012"
        let tampered = try JSONSerialization.data(withJSONObject: fields)
        XCTAssertThrowsError(try JSONDecoder().decode(RecordingName.self, from: tampered))
    }
}

/// Flags as a typed set with one text form.
final class RecordingFlagsTests: XCTestCase {
    func testFlagsKeepOneOrderAndOneTextWhateverOrderTheyCameIn() throws {
        let flags = RecordingFlags([.unknownOfficer, .unregisteredCamera, .unknownOfficer])
        XCTAssertEqual(flags.text, "unregistered-camera,unknown-officer")
        XCTAssertEqual(try RecordingFlags(text: "unknown-officer,unregistered-camera"), flags)
        XCTAssertEqual(try RecordingFlags(text: ""), [])
        XCTAssertEqual(([] as RecordingFlags).text, "")
        XCTAssertThrowsError(try RecordingFlags(text: "unregistered-camera,haunted")) { error in
            XCTAssertEqual(error as? UnknownRecordingFlag, UnknownRecordingFlag(name: "haunted"))
        }
        let json = try JSONEncoder().encode(["flags": flags])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #"{"flags":"unregistered-camera,unknown-officer"}"#)
    }
}
