import Foundation

/// Exponential backoff with full jitter: the n-th retry waits a random time up to
/// min(cap, base × 2ⁿ), so gateways that lost the server together do not return together.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries in all, the first included.
    public var attempts: Int
    public var base: Double
    public var cap: Double
    /// What the waits between tries sleep on.
    public var clock: any SyncClock
    /// Picks a wait in a range (random; a test fixes it to see the exact schedule).
    public var jitter: @Sendable (ClosedRange<Double>) -> Double

    public init(attempts: Int = 8, base: Double = 0.25, cap: Double = 8, clock: any SyncClock = SystemClock(),
                jitter: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) {
        self.attempts = max(1, attempts)
        self.base = base
        self.cap = cap
        self.clock = clock
        self.jitter = jitter
    }

    /// The longest wait before retry number `retry` (0-based), in seconds.
    public func ceiling(beforeRetry retry: Int) -> Double {
        min(cap, base * pow(2, Double(min(retry, 30))))
    }

    /// The wait before retry number `retry` (0-based), in seconds: between half the ceiling and the ceiling.
    public func delay(beforeRetry retry: Int) -> Double {
        let ceiling = ceiling(beforeRetry: retry)
        return min(ceiling, max(ceiling / 2, jitter(ceiling / 2 ... ceiling)))
    }

    /// Sleeps the wait before retry number `retry` on the policy's clock.
    public func pause(beforeRetry retry: Int) async throws {
        try await clock.sleep(for: .seconds(delay(beforeRetry: retry)))
    }

    /// Policies are equal when they retry alike; the clock and the jitter are not compared.
    public static func == (lhs: RetryPolicy, rhs: RetryPolicy) -> Bool {
        lhs.attempts == rhs.attempts && lhs.base == rhs.base && lhs.cap == rhs.cap
    }
}
