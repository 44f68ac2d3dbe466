import Foundation

/// The fields a body camera writes into a recording's file name, under the GA/T 947 reference
/// binding's rule `<cSerial>_<userNo>_<YYYYMMDDhhmmss>_<seq>[_IMP].<ext>`
/// (for example `A123456_010203_20241105093012_0001_IMP.MP4`).
///
/// A name that breaks the rule in any way does not parse at all: the recording is still
/// evidence, but its fields are left unknown rather than guessed.
public struct RecordingName: Sendable, Equatable, Codable {
    /// The camera's product serial (cSerial): 7 ASCII letters or digits, as written.
    public let cameraSerial: String
    /// The officer number (userNo): 6 ASCII digits.
    public let officerNumber: String
    /// When the recording started on the camera's clock: the 14 digits `YYYYMMDDhhmmss` as written.
    public let startedAt: String
    /// The sequence number's digits as written, leading zeros kept.
    public let sequenceText: String
    /// The sequence number.
    public let sequence: Int
    /// Whether the officer marked the recording important (`_IMP`, any letter case).
    public let important: Bool
    /// The extension, upper-cased: one of `allowedExtensions`.
    public let fileExtension: String

    /// The extensions the rule allows (upper-cased; names match them in any letter case).
    public static let allowedExtensions: Set<String> = ["MP4", "MOV", "JPG", "JPEG", "WAV", "AAC", "MP3"]

    /// Enough digits for any real camera's counter, few enough that `Int` never overflows.
    private static let maximumSequenceDigits = 9

    /// The start as calendar fields (year … second), with no time zone: the camera's clock
    /// runs on the unit's local time, which the name does not say.
    public var startedAtComponents: DateComponents {
        let fields = Self.dateFields(of: Array(startedAt.utf8)) ?? (0, 0, 0, 0, 0, 0)
        return DateComponents(year: fields.year, month: fields.month, day: fields.day,
                              hour: fields.hour, minute: fields.minute, second: fields.second)
    }

    /// The name as the rule spells it, with the extension and `_IMP` upper-cased.
    public var fileName: String {
        [cameraSerial, officerNumber, startedAt, sequenceText].joined(separator: "_")
            + (important ? "_IMP" : "") + "." + fileExtension
    }

    /// The start as an instant, reading the camera's clock as local time in `timeZone`
    /// (the camera's unit). Nil only if the calendar cannot place it.
    public func startDate(in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: startedAtComponents)
    }

    /// Reads a bare file name (no folders). Returns nil whenever the name breaks the rule.
    public static func parse(_ fileName: String) -> RecordingName? {
        // Work on ASCII bytes so no Unicode digit, letter or combining mark can pass for ASCII.
        let bytes = Array(fileName.utf8)
        guard !bytes.isEmpty, bytes.allSatisfy({ $0 < 0x80 }),
              let dot = bytes.lastIndex(of: UInt8(ascii: "."))
        else { return nil }
        let fileExtension = String(decoding: bytes[(dot + 1)...], as: UTF8.self).uppercased()
        guard allowedExtensions.contains(fileExtension) else { return nil }

        let fields = bytes[..<dot].split(separator: UInt8(ascii: "_"), omittingEmptySubsequences: false)
        guard fields.count == 4 || fields.count == 5 else { return nil }
        let important = fields.count == 5
        if important {
            guard String(decoding: fields[4], as: UTF8.self).uppercased() == "IMP" else { return nil }
        }
        let serial = fields[0], officer = fields[1], started = fields[2], sequence = fields[3]
        guard serial.count == 7, serial.allSatisfy(isASCIIAlphanumeric),
              officer.count == 6, officer.allSatisfy(isASCIIDigit),
              dateFields(of: Array(started)) != nil,
              (1...maximumSequenceDigits).contains(sequence.count), sequence.allSatisfy(isASCIIDigit)
        else { return nil }
        let sequenceText = String(decoding: sequence, as: UTF8.self)
        guard let sequenceNumber = Int(sequenceText) else { return nil }
        return RecordingName(
            cameraSerial: String(decoding: serial, as: UTF8.self),
            officerNumber: String(decoding: officer, as: UTF8.self),
            startedAt: String(decoding: started, as: UTF8.self),
            sequenceText: sequenceText, sequence: sequenceNumber,
            important: important, fileExtension: fileExtension)
    }

    private init(cameraSerial: String, officerNumber: String, startedAt: String, sequenceText: String,
                 sequence: Int, important: Bool, fileExtension: String) {
        self.cameraSerial = cameraSerial
        self.officerNumber = officerNumber
        self.startedAt = startedAt
        self.sequenceText = sequenceText
        self.sequence = sequence
        self.important = important
        self.fileExtension = fileExtension
    }

    private enum CodingKeys: String, CodingKey {
        case cameraSerial, officerNumber, startedAt, sequenceText, sequence, important, fileExtension
    }

    /// Decodes through `parse`, so a stored value that breaks the rule is refused rather than trusted.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let spelled = [
            try container.decode(String.self, forKey: .cameraSerial),
            try container.decode(String.self, forKey: .officerNumber),
            try container.decode(String.self, forKey: .startedAt),
            try container.decode(String.self, forKey: .sequenceText),
        ].joined(separator: "_")
            + (try container.decode(Bool.self, forKey: .important) ? "_IMP" : "")
            + "." + (try container.decode(String.self, forKey: .fileExtension))
        guard let parsed = Self.parse(spelled) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(spelled)' breaks the recording name rule"))
        }
        self = parsed
    }

    /// Encodes every field, the sequence both as a number and as written.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cameraSerial, forKey: .cameraSerial)
        try container.encode(officerNumber, forKey: .officerNumber)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(sequenceText, forKey: .sequenceText)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(important, forKey: .important)
        try container.encode(fileExtension, forKey: .fileExtension)
    }

    private static func isASCIIDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        isASCIIDigit(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }

    /// The calendar fields of `YYYYMMDDhhmmss`, or nil unless it names a real Gregorian date and time.
    private static func dateFields(of digits: [UInt8])
        -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int)? {
        guard digits.count == 14, digits.allSatisfy(isASCIIDigit) else { return nil }
        func number(_ start: Int, _ count: Int) -> Int {
            digits[start..<(start + count)].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }
        let year = number(0, 4), month = number(4, 2), day = number(6, 2)
        let hour = number(8, 2), minute = number(10, 2), second = number(12, 2)
        guard year >= 1, (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60
        else { return nil }
        return (year, month, day, hour, minute, second)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
