import Foundation

/// Retention's only way to act: `fieldgate-server retention run` (a dry run unless told to
/// apply) and `retention restore`. Nothing expires by itself.
public enum RetentionRun {
    /// Decides each step as of `now`, and takes them when `apply`: expired items go to the
    /// recycle state, recycled ones whose wait is over are deleted (their bytes too, when no
    /// other item holds them), recycled ones that became permanent come back. Each step taken
    /// is a custody event of the item and an entry of the access log.
    public static func run(dataDirectory: URL, database: DatabaseLocation = .dataFolder, blobs: BlobLocation = .dataFolder,
                           now: Date = Date(), apply: Bool) async throws -> RetentionReport {
        let folder = try DataFolder(dataDirectory)
        let repository = try await folder.openRepository(database)
        let store = try folder.blobStorage(for: blobs).0
        let log = ConsoleAccessLog(repository: repository, clock: { now })
        let actor = commandActor()
        var report = RetentionReport(applied: apply)
        for candidate in try await repository.retentionCandidates() {
            let name = "\(candidate.batchId)/\(candidate.position)"
            let step: RetentionStep
            let detail: String
            switch candidate.state {
            case nil:
                guard let expires = candidate.expiresAt(), expires <= now else { continue }
                let purgeAfter = now.addingTimeInterval(TimeInterval(RetentionPolicy.recycleDays) * 86400)
                step = .recycle(purgeAfter: purgeAfter)
                detail = "expired \(expires.formatted(AccessEvent.timeFormat)); deleted after \(purgeAfter.formatted(AccessEvent.timeFormat)) unless restored"
            case .recycled?:
                if let reason = candidate.permanentBecause {
                    step = .restore(reason: reason)
                    detail = "kept: \(reason)"
                } else if let expires = candidate.expiresAt(), expires > now {
                    step = .restore(reason: "its category's period now runs to \(expires.formatted(AccessEvent.timeFormat))")
                    detail = "kept until \(expires.formatted(AccessEvent.timeFormat))"
                } else if let purgeAfter = candidate.purgeAfter, purgeAfter <= now {
                    step = .delete
                    detail = "recycled until \(purgeAfter.formatted(AccessEvent.timeFormat))"
                } else {
                    continue
                }
            case .deleted?:
                continue
            }
            let entry = RetentionReport.Entry(item: name, sha256: candidate.sha256, detail: detail)
            switch step {
            case .recycle: report.recycled.append(entry)
            case .restore: report.restored.append(entry)
            case .delete: report.deleted.append(entry)
            }
            guard apply else { continue }
            let outcome: (event: ServerCustodyEvent, removeBytes: Bool)
            do {
                outcome = try await repository.applyRetention(step, to: candidate, actor: actor, at: now)
            } catch RetentionConflict.stateChanged {
                continue  // another run or a restore moved it meanwhile; the next run decides again
            }
            let action: AccessAction = switch step {
            case .recycle: .retentionRecycled
            case .restore: .retentionRestored
            case .delete: .retentionDeleted
            }
            try await log.record(action, actor: actor, address: "local", subject: candidate.sha256, detail: "\(name): \(detail)")
            if outcome.removeBytes {
                // The records went first: bytes whose removal a crash interrupted are only space, never a claim.
                try await store.remove(candidate.sha256)
                report.blobsRemoved += 1
            }
        }
        return report
    }

    /// Brings a recycled item back (BATCH/POSITION, as its console page names it).
    public static func restore(item: String, dataDirectory: URL, database: DatabaseLocation = .dataFolder, now: Date = Date()) async throws {
        let repository = try await DataFolder(dataDirectory).openRepository(database)
        guard let candidate = try await repository.retentionCandidates().first(where: { "\($0.batchId)/\($0.position)" == item }) else {
            throw RetentionError.unknownItem(item)
        }
        guard candidate.state == .recycled else { throw RetentionError.notRecycled(item) }
        let actor = commandActor()
        do {
            _ = try await repository.applyRetention(.restore(reason: "restored by \(actor)"), to: candidate, actor: actor, at: now)
        } catch RetentionConflict.stateChanged {
            throw RetentionError.notRecycled(item)
        }
        try await ConsoleAccessLog(repository: repository, clock: { now }).record(.retentionRestored, actor: actor, address: "local",
                                                                               subject: candidate.sha256, detail: "\(item): restored by hand")
    }
}
