import Devices
import Foundation
import USB

/// A device arriving or leaving, described as `scan` would describe it.
public struct DeviceEvent: Sendable, Encodable {
    public enum Kind: String, Sendable, Encodable { case arrived, left }
    public var event: Kind
    public var device: ScannedDevice

    /// The event flattened: the device's keys plus `event`, as one JSON line.
    public func encode(to encoder: Encoder) throws {
        try device.encode(to: encoder)
        var container = encoder.container(keyedBy: EventKey.self)
        try container.encode(event, forKey: .event)
    }

    private enum EventKey: String, CodingKey { case event }
}

/// Watch: turns libusb hotplug events into described arrivals and departures.
public struct DeviceWatcher: Sendable {
    public let scanner: DeviceScanner
    public let includeUnknown: Bool

    public init(scanner: DeviceScanner, includeUnknown: Bool = false) {
        self.scanner = scanner
        self.includeUnknown = includeUnknown
    }

    /// Events from now on. A departed device is described as it was when it arrived (or at
    /// the start), since it can no longer be asked.
    public func events() throws(USBError) -> AsyncStream<DeviceEvent> {
        let hotplug = try scanner.context.hotplugEvents()
        var known: [String: ScannedDevice] = [:]
        for device in try scanner.context.devices() {
            let described = scanner.describe(device, open: false)
            known[described.port + "@" + described.busAddress] = described
        }
        let (stream, continuation) = AsyncStream.makeStream(of: DeviceEvent.self)
        let task = Task { [scanner, includeUnknown, known] in
            var known = known
            for await event in hotplug {
                switch event {
                case .arrived(let device):
                    let described = await Self.describeArrival(device, scanner: scanner, openUnknown: includeUnknown)
                    known[described.port + "@" + described.busAddress] = described
                    if described.isCatalogued || includeUnknown { continuation.yield(DeviceEvent(event: .arrived, device: described)) }
                case .left(let device):
                    var described = scanner.describe(device, open: false)
                    if let earlier = known.removeValue(forKey: described.port + "@" + described.busAddress) { described = earlier }
                    if described.isCatalogued || includeUnknown { continuation.yield(DeviceEvent(event: .left, device: described)) }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// A device that has just arrived may not be openable yet (udev is still setting its
    /// permissions), so opening is retried briefly before the state is reported.
    static func describeArrival(_ device: USBDevice, scanner: DeviceScanner, openUnknown: Bool) async -> ScannedDevice {
        var described = scanner.describe(device, open: true, openUnknown: openUnknown)
        for delay in [20, 50, 100, 200, 400] where described.state == .noAccess || described.state == .error {
            try? await Task.sleep(for: .milliseconds(delay))
            described = scanner.describe(device, open: true, openUnknown: openUnknown)
        }
        return described
    }
}
