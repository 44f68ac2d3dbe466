import Foundation
import TextCodecs
import USB

/// Speaks the GA/T 947 USB binding (shared/protocols/gat947-usb.md) to a camera in control mode.
public final class GAT947Camera: @unchecked Sendable {
    enum Request: UInt8 {
        case auth = 0x01, getIdCode = 0x02, getInfo = 0x03, setInfo = 0x04
        case getTime = 0x05, setTime = 0x06, getBattery = 0x07, setMassStorage = 0x08

        var name: String {
            switch self {
            case .auth: "AUTH"
            case .getIdCode: "GET_ID_CODE"
            case .getInfo: "GET_INFO"
            case .setInfo: "SET_INFO"
            case .getTime: "GET_TIME"
            case .setTime: "SET_TIME"
            case .getBattery: "GET_BATTERY"
            case .setMassStorage: "SET_MSDC"
            }
        }
    }

    static let recordSize = 94
    public let handle: USBDeviceHandle
    public let serial: String

    public init(handle: USBDeviceHandle, serial: String) {
        self.handle = handle
        self.serial = serial
    }

    /// AUTH. A wrong password is `CameraError.wrongPassword`; nothing else was sent before it.
    public func authenticate(password: String) throws(CameraError) {
        let bytes = Array(password.utf8)
        guard (1...16).contains(bytes.count), password.allSatisfy(\.isASCII) else {
            throw CameraError.malformed(serial: serial, field: "password", reason: "must be 1 to 16 ASCII characters")
        }
        do {
            try handle.controlOut(requestType: 0x40, request: Request.auth.rawValue, data: bytes)
        } catch where error.code == .pipe {
            throw CameraError.wrongPassword(serial: serial)
        } catch {
            throw CameraError.usb(serial: serial, error)
        }
    }

    /// GET_ID_CODE: manufacturer and model code.
    public func idCode() throws(CameraError) -> String {
        String(decoding: try read(.getIdCode, length: 32).prefix { $0 != 0 }, as: UTF8.self)
    }

    /// GET_INFO: the officer record, names decoded from GBK.
    public func record() throws(CameraError) -> CameraRecord {
        let bytes = try read(.getInfo, length: Self.recordSize)
        guard bytes.count == Self.recordSize else {
            throw CameraError.malformed(serial: serial, field: "ZFY_INFO", reason: "\(bytes.count) bytes instead of 94")
        }
        func field(_ offset: Int, _ size: Int) -> [UInt8] { Array(bytes[offset..<offset + size].prefix { $0 != 0 }) }
        func ascii(_ name: String, _ offset: Int, _ size: Int) throws(CameraError) -> String {
            let raw = field(offset, size)
            guard raw.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
                throw CameraError.malformed(serial: serial, field: name, reason: "not ASCII")
            }
            return String(decoding: raw, as: UTF8.self)
        }
        func gbk(_ name: String, _ offset: Int, _ size: Int) throws(CameraError) -> String {
            do { return try ChineseEncoding.gbk.decode(field(offset, size)) } catch {
                throw CameraError.malformed(serial: serial, field: name, reason: "not valid GBK")
            }
        }
        return CameraRecord(serial: try ascii("cSerial", 0, 8), officerNumber: try ascii("userNo", 8, 7),
                            officerName: try gbk("userName", 15, 33), unitNumber: try ascii("unitNo", 48, 13),
                            unitName: try gbk("unitName", 61, 33))
    }

    /// SET_INFO: binds an officer (and unit) to the camera.
    public func write(_ record: CameraRecord) throws(CameraError) {
        func padded(_ bytes: [UInt8], _ size: Int, _ name: String) throws(CameraError) -> [UInt8] {
            guard bytes.count < size else { throw CameraError.malformed(serial: serial, field: name, reason: "longer than \(size - 1) bytes") }
            return bytes + [UInt8](repeating: 0, count: size - bytes.count)
        }
        let name: [UInt8], unit: [UInt8]
        do {
            name = try ChineseEncoding.gbk.encode(record.officerName)
            unit = try ChineseEncoding.gbk.encode(record.unitName)
        } catch {
            throw CameraError.malformed(serial: serial, field: "userName", reason: "cannot be written in GBK")
        }
        let data = try padded(Array(record.serial.utf8), 8, "cSerial") + padded(Array(record.officerNumber.utf8), 7, "userNo")
            + padded(name, 33, "userName") + padded(Array(record.unitNumber.utf8), 13, "unitNo") + padded(unit, 33, "unitName")
        try send(.setInfo, data: data)
    }

    /// GET_TIME: the camera's clock.
    public func clock() throws(CameraError) -> Date {
        let bytes = try read(.getTime, length: 8)
        guard bytes.count == 8 else { throw CameraError.malformed(serial: serial, field: "time", reason: "\(bytes.count) bytes instead of 8") }
        let seconds = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// SET_TIME to `date` (whole seconds).
    public func setClock(_ date: Date) throws(CameraError) {
        let seconds = Int64(date.timeIntervalSince1970.rounded())
        try send(.setTime, data: withUnsafeBytes(of: seconds.littleEndian, Array.init))
    }

    /// GET_BATTERY: remaining charge in percent.
    public func battery() throws(CameraError) -> Int {
        guard let value = try read(.getBattery, length: 1).first, value <= 100 else {
            throw CameraError.malformed(serial: serial, field: "battery", reason: "not a percentage")
        }
        return Int(value)
    }

    /// SET_MSDC: the camera leaves the bus and returns as a mass-storage device.
    public func switchToMassStorage() throws(CameraError) {
        try send(.setMassStorage, data: [])
    }

    private func read(_ request: Request, length: Int) throws(CameraError) -> [UInt8] {
        do {
            return try handle.controlIn(requestType: 0xC0, request: request.rawValue, length: length)
        } catch where error.code == .pipe {
            throw CameraError.refused(serial: serial, request: request.name)
        } catch {
            throw CameraError.usb(serial: serial, error)
        }
    }

    private func send(_ request: Request, data: [UInt8]) throws(CameraError) {
        do {
            try handle.controlOut(requestType: 0x40, request: request.rawValue, data: data)
        } catch where error.code == .pipe {
            throw CameraError.refused(serial: serial, request: request.name)
        } catch {
            throw CameraError.usb(serial: serial, error)
        }
    }
}
