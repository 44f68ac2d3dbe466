import Foundation
import NIOConcurrencyHelpers

/// Failed enrolments per client address: past `limit` failures within `window`, an address is
/// refused (429) until its oldest failure in the window has aged out, so tokens cannot be
/// guessed at speed. A refused attempt does not look at the token at all.
final class EnrolmentThrottle: Sendable {
    let limit: Int
    let window: TimeInterval
    private let clock: @Sendable () -> Date
    private let failures = NIOLockedValueBox<[String: [Date]]>([:])
    /// Addresses tracked at once before the expired ones are dropped.
    static let pruneAbove = 1024

    init(limit: Int, window: TimeInterval = 60, clock: @escaping @Sendable () -> Date = Date.init) {
        self.limit = max(1, limit)
        self.window = window
        self.clock = clock
    }

    /// Seconds the address must wait before its next attempt; nil when it may try now.
    func wait(for address: String) -> TimeInterval? {
        let now = clock()
        return failures.withLockedValue { failures in
            let recent = (failures[address] ?? []).filter { now.timeIntervalSince($0) < window }
            failures[address] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, window - now.timeIntervalSince(oldest))
        }
    }

    func recordFailure(from address: String) {
        let now = clock()
        failures.withLockedValue { failures in
            failures[address, default: []].append(now)
            if failures.count > Self.pruneAbove {
                failures = failures.compactMapValues { dates in
                    let recent = dates.filter { now.timeIntervalSince($0) < window }
                    return recent.isEmpty ? nil : recent
                }
            }
        }
    }
}
