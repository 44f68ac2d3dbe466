import Foundation

/// Writes the access log and checks its chain.
struct ConsoleAccessLog: Sendable {
    let repository: any EvidenceRepository
    let clock: @Sendable () -> Date

    @discardableResult
    func record(_ action: AccessAction, actor: String, address: String, subject: String = "", detail: String = "") async throws -> AccessEvent {
        // A name typed into the sign-in form is kept, but not without bound.
        try await repository.appendAccessEvent(at: clock(), actor: String(actor.prefix(128)), address: address, action: action,
                                               subject: String(subject.prefix(256)), detail: String(detail.prefix(1024)))
    }

    /// Re-checks every link, a page at a time: each entry's hash, and that it names the one before.
    static func verify(_ repository: any EvidenceRepository) async throws -> AccessLogVerification {
        var previous: (seq: Int64, hash: String) = (0, AccessEvent.genesisHash)
        var count: Int64 = 0
        while true {
            let page = try await repository.accessEvents(after: previous.seq, limit: 1000)
            guard !page.isEmpty else { break }
            for event in page {
                count += 1
                if event.seq != previous.seq + 1 {
                    return AccessLogVerification(entries: count, brokenAt: previous.seq + 1, reason: "entry \(previous.seq + 1) is missing (the next is \(event.seq))")
                }
                if event.previousHash != previous.hash {
                    return AccessLogVerification(entries: count, brokenAt: event.seq, reason: "entry \(event.seq) does not name the hash of the entry before it")
                }
                if event.computedHash() != event.hash {
                    return AccessLogVerification(entries: count, brokenAt: event.seq, reason: "entry \(event.seq) was changed after it was written (its hash does not match its content)")
                }
                previous = (event.seq, event.hash)
            }
        }
        return AccessLogVerification(entries: count, brokenAt: nil, reason: nil)
    }
}

extension ConsoleAccounts {
    /// Re-checks the access log's whole chain.
    public static func verifyAccessLog(dataDirectory: URL, database: DatabaseLocation = .dataFolder) async throws -> AccessLogVerification {
        try await ConsoleAccessLog.verify(DataFolder(dataDirectory).openRepository(database))
    }
}
