import CLibUSB

/// A libusb failure, named by the operation that failed so a message can say what to do next.
public struct USBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The libusb error class, stable across libusb versions.
    public enum Code: Sendable, Equatable {
        case io, invalidParameter, access, noDevice, notFound, busy, timeout, overflow
        case pipe, interrupted, noMemory, notSupported, other(Int32)

        init(_ raw: Int32) {
            switch raw {
            case LIBUSB_ERROR_IO.rawValue: self = .io
            case LIBUSB_ERROR_INVALID_PARAM.rawValue: self = .invalidParameter
            case LIBUSB_ERROR_ACCESS.rawValue: self = .access
            case LIBUSB_ERROR_NO_DEVICE.rawValue: self = .noDevice
            case LIBUSB_ERROR_NOT_FOUND.rawValue: self = .notFound
            case LIBUSB_ERROR_BUSY.rawValue: self = .busy
            case LIBUSB_ERROR_TIMEOUT.rawValue: self = .timeout
            case LIBUSB_ERROR_OVERFLOW.rawValue: self = .overflow
            case LIBUSB_ERROR_PIPE.rawValue: self = .pipe
            case LIBUSB_ERROR_INTERRUPTED.rawValue: self = .interrupted
            case LIBUSB_ERROR_NO_MEM.rawValue: self = .noMemory
            case LIBUSB_ERROR_NOT_SUPPORTED.rawValue: self = .notSupported
            default: self = .other(raw)
            }
        }

        /// What the error means for a person at a docking station.
        public var explanation: String {
            switch self {
            case .io: "input/output error"
            case .invalidParameter: "invalid parameter"
            case .access: "permission denied"
            case .noDevice: "device is gone (unplugged?)"
            case .notFound: "not found"
            case .busy: "device is busy (claimed by another program or driver)"
            case .timeout: "timed out"
            case .overflow: "device sent more data than asked for"
            case .pipe: "device refused the request (STALL)"
            case .interrupted: "interrupted"
            case .noMemory: "out of memory"
            case .notSupported: "not supported on this system"
            case .other(let raw): "libusb error \(raw)"
            }
        }
    }

    public let code: Code
    /// What was being done, e.g. "open 001:004" or "control request 0x03".
    public let operation: String

    public init(code: Code, operation: String) {
        self.code = code
        self.operation = operation
    }

    init(raw: Int32, operation: String) {
        self.init(code: Code(raw), operation: operation)
    }

    public var description: String { "\(operation): \(code.explanation)" }
}

/// Turns a negative libusb return value into a thrown `USBError`; returns non-negative values.
@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(USBError) -> Int32 {
    if result < 0 { throw USBError(raw: result, operation: operation()) }
    return result
}
