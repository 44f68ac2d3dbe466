import Foundation

/// One conversation with cameras' USB control interfaces at a time in this process: listing
/// and identifying docked cameras, and each camera's control-mode exchange (authenticate,
/// record, clock, switch to storage). That exchange lasts well under a second, so bays that
/// wait for it lose little; copying from the volumes, the long part, runs in parallel.
///
/// Why: libusb itself is thread-safe, but under umockdev's preload (how every emulated camera
/// is tested) usbdevfs traffic from several threads at once corrupts the process's heap; and a
/// camera re-enumerating while another thread holds it open must not be met mid-exchange.
public enum BusConversation {
    private static let lock = NSRecursiveLock()

    public static func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
