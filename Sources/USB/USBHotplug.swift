import CLibUSB
import Foundation

/// A device arriving on or leaving the bus.
public enum USBHotplugEvent: Sendable {
    case arrived(USBDevice)
    case left(USBDevice)
}

extension USBContext {
    /// Arrivals and departures from now on, as they happen. Devices already attached are not
    /// reported. The stream ends when its consumer stops iterating (or is cancelled).
    public func hotplugEvents() throws(USBError) -> AsyncStream<USBHotplugEvent> {
        guard supportsHotplug else { throw USBError(code: .notSupported, operation: "watch for USB hotplug events") }
        let (stream, continuation) = AsyncStream.makeStream(of: USBHotplugEvent.self, bufferingPolicy: .unbounded)
        let monitor = HotplugMonitor(context: self, continuation: continuation)
        try monitor.start()
        continuation.onTermination = { _ in monitor.stop() }
        return stream
    }
}

/// Registers a libusb hotplug callback and runs libusb's event loop on a thread of its own,
/// since libusb only delivers hotplug callbacks from inside `libusb_handle_events`.
private final class HotplugMonitor: @unchecked Sendable {
    private let context: USBContext
    private let continuation: AsyncStream<USBHotplugEvent>.Continuation
    private let lock = NSLock()
    private var stopped = false
    private var callbackHandle: libusb_hotplug_callback_handle = 0

    init(context: USBContext, continuation: AsyncStream<USBHotplugEvent>.Continuation) {
        self.context = context
        self.continuation = continuation
    }

    func start() throws(USBError) {
        let events = Int32(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED.rawValue | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT.rawValue)
        // The event thread holds the retain until it ends; the callback borrows it.
        let unmanaged = Unmanaged.passRetained(self)
        var handle: libusb_hotplug_callback_handle = 0
        let status = libusb_hotplug_register_callback(
            context.raw, events, 0, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
            hotplugCallback, unmanaged.toOpaque(), &handle)
        if status < 0 {
            unmanaged.release()
            throw USBError(raw: status, operation: "register USB hotplug callback")
        }
        callbackHandle = handle
        let thread = Thread { [unmanaged] in
            let monitor = unmanaged.takeRetainedValue()
            monitor.runEventLoop()
        }
        thread.name = "fieldgate.usb.hotplug"
        thread.start()
    }

    private func runEventLoop() {
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        while !isStopped {
            _ = libusb_handle_events_timeout_completed(context.raw, &timeout, nil)
        }
        libusb_hotplug_deregister_callback(context.raw, callbackHandle)
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    func stop() { lock.withLock { stopped = true } }

    func deliver(_ device: OpaquePointer, event: libusb_hotplug_event) {
        let usbDevice = USBDevice(retaining: device, context: context)
        if event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED {
            continuation.yield(.arrived(usbDevice))
        } else {
            continuation.yield(.left(usbDevice))
        }
    }
}

private let hotplugCallback: libusb_hotplug_callback_fn = { _, device, event, userData in
    guard let device, let userData else { return 0 }
    Unmanaged<HotplugMonitor>.fromOpaque(userData).takeUnretainedValue().deliver(device, event: event)
    return 0  // stay registered
}
