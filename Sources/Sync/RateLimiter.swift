import Common
import Foundation

/// A token bucket over bytes sent, shared by every upload of one sync (`--limit-rate`).
public actor RateLimiter {
    private let bytesPerSecond: Double
    private let burst: Double
    private var available: Double
    private let clock: any SyncClock
    private var refilled: Duration

    public init(bytesPerSecond: Int64, clock: any SyncClock = SystemClock()) {
        self.bytesPerSecond = Double(max(1, bytesPerSecond))
        // A quarter second of credit: smooth enough, and small writes need not wait.
        burst = max(64 * 1024, self.bytesPerSecond / 4)
        available = burst
        self.clock = clock
        refilled = clock.now()
    }

    /// The bytes that may be sent at once, before the rate applies.
    public nonisolated var burstBytes: Int { Int(burst) }

    /// Waits until `count` bytes may be sent.
    public func take(_ count: Int) async throws {
        refill()
        available -= Double(count)
        if available < 0 {
            try await clock.sleep(for: .seconds(-available / bytesPerSecond))
        }
    }

    private func refill() {
        let now = clock.now()
        let elapsed = now - refilled
        refilled = now
        available = min(burst, available + elapsed.inSeconds * bytesPerSecond)
    }

    /// Parses `10M`, `512k`, `1G` or a plain byte count (per second).
    public static func parseRate(_ text: String) -> Int64? { ByteCount.parse(text) }
}
