import Foundation

/// The passing of time as a sync sees it: the rate limit's refills and waits, and the waits
/// between tries. A test puts in a clock it moves by hand, so it can assert exact waits
/// without sleeping.
public protocol SyncClock: Sendable {
    /// Monotonic time since an arbitrary fixed point.
    func now() -> Duration
    /// Returns once `duration` has passed (throws when the task is cancelled).
    func sleep(for duration: Duration) async throws
}

/// The machine's monotonic clock.
public struct SystemClock: SyncClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Duration { ContinuousClock.now - origin }

    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

extension Duration {
    /// This duration in seconds, with its fraction.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
