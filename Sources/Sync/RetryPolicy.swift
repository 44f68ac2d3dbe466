import Foundation

/// Exponential backoff with full jitter: the n-th retry waits a random time up to
/// min(cap, base × 2ⁿ), so gateways that lost the server together do not return together.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries in all, the first included.
    public var attempts: Int
    public var base: Double
    public var cap: Double

    public init(attempts: Int = 8, base: Double = 0.25, cap: Double = 8) {
        self.attempts = max(1, attempts)
        self.base = base
        self.cap = cap
    }

    /// The wait before retry number `retry` (0-based), in seconds.
    public func delay(beforeRetry retry: Int) -> Double {
        let ceiling = min(cap, base * pow(2, Double(min(retry, 30))))
        return Double.random(in: ceiling / 2 ... ceiling)
    }
}
