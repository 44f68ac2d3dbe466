import Foundation

/// The console's records — its people and their sessions — behind the same contract on SQLite
/// and PostgreSQL as the rest, so that every instance sees a sign-in and a disabled person alike.
protocol ConsoleRepository: Sendable {
    /// Throws ``ConsoleAccountError/duplicateName(_:)`` when the name is taken.
    func createConsoleUser(name: String, role: ConsoleRole, passwordHash: String, at: Date) async throws -> ConsoleUserRecord
    func consoleUsers() async throws -> [ConsoleUserRecord]
    func consoleUser(name: String) async throws -> ConsoleUserRecord?
    /// Disables the person and deletes their sessions, in one transaction; nil for an unknown name.
    func disableConsoleUser(name: String, at: Date) async throws -> ConsoleUserRecord?
    /// Sets the password hash and deletes the person's sessions, in one transaction; nil for an unknown name.
    func setConsolePassword(name: String, passwordHash: String, at: Date) async throws -> ConsoleUserRecord?
    /// Gives the person another role and deletes their sessions (the next sign-in has the new
    /// role's pages), in one transaction; nil for an unknown name.
    func setConsoleRole(name: String, role: ConsoleRole) async throws -> ConsoleUserRecord?

    func createConsoleSession(_ session: ConsoleSessionRecord) async throws
    /// The session with this token hash and its person.
    func consoleSession(tokenHash: String) async throws -> (ConsoleSessionRecord, ConsoleUserRecord)?
    func touchConsoleSession(tokenHash: String, at: Date) async throws
    func deleteConsoleSession(tokenHash: String) async throws
    /// Deletes sessions idle since `lastSeenBefore` or begun before `createdBefore`; returns how many.
    func deleteConsoleSessions(lastSeenBefore: Date, createdBefore: Date) async throws -> Int

    /// Appends an entry to the access log after the last one, in a transaction no other writer
    /// (another instance included) interleaves, so the chain has one order.
    func appendAccessEvent(at: Date, actor: String, address: String, action: AccessAction, subject: String,
                           detail: String) async throws -> AccessEvent
    /// Up to `limit` entries after `seq`, oldest first.
    func accessEvents(after seq: Int64, limit: Int) async throws -> [AccessEvent]
    /// Up to `limit` entries before `seq` (or the newest), newest first: a page of the log.
    func latestAccessEvents(before seq: Int64?, limit: Int) async throws -> [AccessEvent]

    /// Committed, not withdrawn items that match, the most recently committed first, `limit`
    /// of them after skipping `offset`.
    func searchItems(_ query: ItemQuery, limit: Int, offset: Int) async throws -> [FoundItem]
    /// The item at this position of this batch, when the batch is committed and the item not withdrawn.
    func consoleItem(batchId: String, position: Int) async throws -> FoundItem?

    /// The bureau's categories, in their list's order.
    func categories() async throws -> [EvidenceCategory]
    /// Stores the reviewer's category and case for the item and appends a custody event for each
    /// field that changed, continuing from `chainHash` (the gateway chain's last link) when the
    /// item has no server event yet; all in one transaction. Returns the events appended.
    func reviewItem(batchId: String, position: Int, change: ItemReviewChange, actor: String, at: Date,
                    chainHash: String) async throws -> [ServerCustodyEvent]
    func itemReview(batchId: String, position: Int) async throws -> ItemReviewRecord?
    /// The server's custody events of the item, oldest first.
    func serverCustody(batchId: String, position: Int) async throws -> [ServerCustodyEvent]

    /// Committed items that retention may act on: categorised and not deleted.
    func retentionCandidates() async throws -> [RetentionCandidate]
    /// Takes one step for the item in one transaction with its custody event: recycle (only
    /// from no state), restore or delete (only from recycled; throws ``RetentionConflict`` when
    /// the state moved meanwhile). A deletion also drops the blob's row and possessions when no
    /// other item holds the blob, and then says its bytes may go (`removeBytes`).
    func applyRetention(_ step: RetentionStep, to candidate: RetentionCandidate, actor: String,
                        at: Date) async throws -> (event: ServerCustodyEvent, removeBytes: Bool)

    func createShare(_ share: ShareRecord, tokenHash: String) async throws
    /// The most recent shares, newest first.
    func shares(limit: Int) async throws -> [ShareRecord]
    func share(tokenHash: String) async throws -> ShareRecord?
    /// Marks the share revoked (a revoked one stays so); nil for an unknown id.
    func revokeShare(id: String, at: Date) async throws -> ShareRecord?
}
