internal import CFPrint
import Foundation

/// A reader libfprint sees (any sensor it has a driver for, or its `virtual_image` reader
/// when `FP_VIRTUAL_IMAGE` names a socket).
public struct FingerprintReaderInfo: Sendable, Equatable, Codable {
    /// libfprint's driver, e.g. "upekts" or "virtual_image".
    public var driver: String
    public var name: String
    public var deviceId: String

    public init(driver: String, name: String, deviceId: String) {
        self.driver = driver
        self.name = name
        self.deviceId = deviceId
    }
}

/// A captured fingerprint: 8-bit grey, one byte per pixel, row by row.
public struct FingerprintImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]
    public var reader: FingerprintReaderInfo

    public init(width: Int, height: Int, pixels: [UInt8], reader: FingerprintReaderInfo) {
        self.width = width
        self.height = height
        self.pixels = pixels
        self.reader = reader
    }

    /// The image as binary PGM (P5): lossless, and readable by any image tool.
    public var pgm: [UInt8] { Array("P5\n\(width) \(height)\n255\n".utf8) + pixels }
}

public enum FingerprintError: Error, Sendable, Equatable, CustomStringConvertible {
    case noReader
    case open(String, String)
    case timedOut(String, Int)
    case failed(String, String)

    public var description: String {
        switch self {
        case .noReader:
            "no fingerprint reader that libfprint supports is attached (check `fieldgate scan`, the cable and the udev rule)"
        case .open(let reader, let reason):
            "cannot open fingerprint reader \(reader): \(reason)"
        case .timedOut(let reader, let seconds):
            "no finger on \(reader) within \(seconds) s; capture again when the person is ready (nothing was stored)"
        case .failed(let reader, let reason):
            "capture on \(reader) failed: \(reason); capture again (nothing was stored)"
        }
    }
}

/// Readers and captures through libfprint's synchronous API.
public enum FingerprintReaders {
    /// The readers libfprint sees now.
    public static func list() -> [FingerprintReaderInfo] {
        withDevices { devices in devices.map(info) }
    }

    /// Waits (at most `timeoutSeconds`) for a finger on the first reader, or the reader whose
    /// device id is `deviceId`, and returns the image. A timeout cancels the capture.
    public static func capture(deviceId: String? = nil, timeoutSeconds: Int) throws(FingerprintError) -> FingerprintImage {
        let result: Result<FingerprintImage, FingerprintError> = withDevices { devices in
            guard let device = devices.first(where: { deviceId == nil || info($0).deviceId == deviceId }) else {
                return .failure(.noReader)
            }
            let reader = info(device)
            let label = "\(reader.name) (\(reader.driver))"
            var error: UnsafeMutablePointer<GError>?
            guard fp_device_open_sync(device, nil, &error) != 0 else { return .failure(.open(label, take(error))) }
            defer { _ = fp_device_close_sync(device, nil, nil) }
            let cancellable = Cancellable()
            let timer = DispatchWorkItem { cancellable.cancel() }
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeoutSeconds), execute: timer)
            let image = fp_device_capture_sync(device, 1, cancellable.raw, &error)
            timer.cancel()
            guard let image else {
                if cancellable.isCancelled { return .failure(.timedOut(label, timeoutSeconds)) }
                return .failure(.failed(label, take(error)))
            }
            defer { g_object_unref(UnsafeMutableRawPointer(image)) }
            var length: gsize = 0
            let width = Int(fp_image_get_width(image)), height = Int(fp_image_get_height(image))
            guard let data = fp_image_get_data(image, &length), Int(length) == width * height, length > 0 else {
                return .failure(.failed(label, "the reader returned no image"))
            }
            return .success(FingerprintImage(width: width, height: height,
                                             pixels: Array(UnsafeBufferPointer(start: data, count: Int(length))), reader: reader))
        }
        return try result.get()
    }

    private static func withDevices<T>(_ body: ([UnsafeMutablePointer<FpDevice>]) -> T) -> T {
        guard let context = fp_context_new() else { return body([]) }
        defer { g_object_unref(UnsafeMutableRawPointer(context)) }
        var devices: [UnsafeMutablePointer<FpDevice>] = []
        if let array = fp_context_get_devices(context) {
            for index in 0..<Int(array.pointee.len) {
                if let pointer = array.pointee.pdata[index] { devices.append(pointer.assumingMemoryBound(to: FpDevice.self)) }
            }
        }
        return body(devices)
    }

    private static func info(_ device: UnsafeMutablePointer<FpDevice>) -> FingerprintReaderInfo {
        FingerprintReaderInfo(driver: string(fp_device_get_driver(device)), name: string(fp_device_get_name(device)),
                              deviceId: string(fp_device_get_device_id(device)))
    }

    private static func string(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }

    private static func take(_ error: UnsafeMutablePointer<GError>?) -> String {
        guard let error else { return "unknown error" }
        defer { g_error_free(error) }
        return String(cString: error.pointee.message)
    }
}

/// A GCancellable that a timer on another thread may cancel (g_cancellable_cancel is thread-safe).
private final class Cancellable: @unchecked Sendable {
    let raw: UnsafeMutablePointer<GCancellable>
    init() { raw = g_cancellable_new() }
    deinit { g_object_unref(UnsafeMutableRawPointer(raw)) }
    func cancel() { g_cancellable_cancel(raw) }
    var isCancelled: Bool { g_cancellable_is_cancelled(raw) != 0 }
}

/// Something that captures one fingerprint image: the paperwork asks readers only through this.
public protocol FingerprintScanner: Sendable {
    func capture(timeoutSeconds: Int) throws(FingerprintError) -> FingerprintImage
}

/// A reader libfprint drives: the one with `deviceId`, or the only one attached.
public struct LibfprintScanner: FingerprintScanner {
    public var deviceId: String?

    public init(deviceId: String? = nil) { self.deviceId = deviceId }

    public func capture(timeoutSeconds: Int) throws(FingerprintError) -> FingerprintImage {
        try FingerprintReaders.capture(deviceId: deviceId, timeoutSeconds: timeoutSeconds)
    }
}
