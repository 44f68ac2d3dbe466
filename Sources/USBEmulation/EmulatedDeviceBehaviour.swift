/// The 8-byte setup packet of a control request.
public struct ControlSetup: Sendable, Equatable {
    public var requestType: UInt8
    public var request: UInt8
    public var value: UInt16
    public var index: UInt16
    public var length: UInt16

    public var isIn: Bool { requestType & 0x80 != 0 }
}

/// How an emulated device answers a control request.
public enum ControlReply: Sendable, Equatable {
    /// Success; for an IN request, the bytes returned (cut to wLength).
    case data([UInt8])
    /// The device refuses the request (a STALL on endpoint 0).
    case stall

    public static let ack = ControlReply.data([])
}

/// What an emulated device does. Implementations are called on umockdev's handler thread,
/// one request at a time per device, and must be thread-safe against the test's own reads.
public protocol EmulatedDeviceBehaviour: AnyObject, Sendable {
    /// A new connection: the host opened the device node.
    func connectionOpened()
    /// A control request other than GET_DESCRIPTOR for strings (answered from the description).
    func control(_ setup: ControlSetup, data: [UInt8]) -> ControlReply
    /// Bytes the host sent to a bulk or interrupt OUT endpoint; false stalls the endpoint.
    func bulkOut(endpoint: UInt8, data: [UInt8]) -> Bool
    /// Bytes for a bulk or interrupt IN endpoint, at most `maxLength`; nil means nothing yet.
    func bulkIn(endpoint: UInt8, maxLength: Int) -> [UInt8]?
    /// True while the device NAKs OUT transfers on `endpoint` (busy): they wait, and the host times out.
    func naks(endpoint: UInt8) -> Bool
}

extension EmulatedDeviceBehaviour {
    public func connectionOpened() {}
    public func control(_ setup: ControlSetup, data: [UInt8]) -> ControlReply { .stall }
    public func bulkOut(endpoint: UInt8, data: [UInt8]) -> Bool { false }
    public func bulkIn(endpoint: UInt8, maxLength: Int) -> [UInt8]? { nil }
    public func naks(endpoint: UInt8) -> Bool { false }
}

/// A device that only enumerates and answers its string descriptors.
public final class PassiveDevice: EmulatedDeviceBehaviour {
    public init() {}
}
