import Evidence
import Foundation
import GRDB

/// What `audit verify` found. `problems` is empty when the chain and every blob are intact.
public struct AuditReport: Sendable, Codable, Equatable {
    public struct Problem: Sendable, Codable, Equatable, CustomStringConvertible {
        /// "broken-link", "changed-blob", "missing-blob", "record-mismatch", "removed-without-receipt".
        public var kind: String
        public var message: String
        public var description: String { message }
    }

    public var events: Int
    public var recordings: Int
    /// Printouts and fingerprint captures, whose blobs are re-hashed like recordings'.
    public var printedDocuments: Int
    public var fingerprints: Int
    public var blobsChecked: Int
    /// Recordings whose local copy was removed to make room: held by the server per its
    /// receipt, which is checked to exist; their blobs are not looked for here.
    public var heldByServer: Int
    public var problems: [Problem]
    public var isIntact: Bool { problems.isEmpty }
}

extension EvidenceStore {
    /// Re-checks the custody chain link by link, then every recording's blob against its hash
    /// and against the hash its `collected` event recorded.
    public func verify(progress: (Int, Int) -> Void = { _, _ in }) throws -> AuditReport {
        let (events, recordings, documents, fingerprints) = try database.read { db in
            (try CustodyEvent.order(Column("seq")).fetchAll(db), try Recording.order(Column("id")).fetchAll(db),
             try PrintedDocument.order(Column("id")).fetchAll(db), try FingerprintCapture.order(Column("id")).fetchAll(db))
        }
        var problems: [AuditReport.Problem] = []
        var previous = CustodyEvent.genesisHash
        var expectedSeq: Int64 = 1
        var collectedHash: [Int64: String] = [:]
        for event in events {
            if event.seq != expectedSeq {
                problems.append(.init(kind: "broken-link", message: "custody event \(expectedSeq) is missing (next is \(event.seq))"))
                break
            }
            if event.previousHash != previous || event.computedHash() != event.hash {
                problems.append(.init(kind: "broken-link",
                                      message: "custody chain broken at event \(event.seq) (\(event.kind.rawValue)\(event.recordingId.map { ", recording \($0)" } ?? "")): its content or its link to event \(event.seq - 1) was changed"))
                break
            }
            if event.kind == .collected, let id = event.recordingId, let hash = event.sha256 { collectedHash[id] = hash }
            previous = event.hash
            expectedSeq += 1
        }
        var checked = 0
        var heldByServer = 0
        let receipted = try database.read { db in
            Set(try Int64.fetchAll(db, SyncItem.select(Column("sourceId"))
                .filter(Column("kind") == EvidenceKind.recording.rawValue && Column("state") == UploadState.receipted)))
        }
        for (index, recording) in recordings.enumerated() {
            progress(index, recordings.count)
            guard let id = recording.id else { continue }
            if recording.localCopyRemovedAt != nil {
                if receipted.contains(id) {
                    heldByServer += 1
                } else {
                    problems.append(.init(kind: "removed-without-receipt",
                                          message: "recording \(id) (\(recording.sourceName)): its local copy was removed but no receipt names it"))
                }
                continue
            }
            if let recorded = collectedHash[id], recorded != recording.sha256 {
                problems.append(.init(kind: "record-mismatch",
                                      message: "recording \(id) (\(recording.sourceName)) says sha256 \(recording.sha256) but its custody event recorded \(recorded)"))
            }
            switch try blobs.hash(of: recording.sha256) {
            case nil:
                problems.append(.init(kind: "missing-blob", message: "recording \(id) (\(recording.sourceName)): blob \(recording.sha256) is missing"))
            case let actual? where actual != recording.sha256:
                problems.append(.init(kind: "changed-blob",
                                      message: "recording \(id) (\(recording.sourceName)): blob \(blobs.path(of: recording.sha256).path) was changed (its bytes now hash to \(actual))"))
            default:
                checked += 1
            }
        }
        let paperwork = documents.map { ("printed document \($0.documentNumber) (case \($0.caseNumber))", $0.sha256) }
            + fingerprints.map { ("fingerprint \($0.id ?? 0) of \($0.person) on \($0.documentNumber)", $0.sha256) }
        for (name, sha256) in paperwork {
            switch try blobs.hash(of: sha256) {
            case nil:
                problems.append(.init(kind: "missing-blob", message: "\(name): blob \(sha256) is missing"))
            case let actual? where actual != sha256:
                problems.append(.init(kind: "changed-blob",
                                      message: "\(name): blob \(blobs.path(of: sha256).path) was changed (its bytes now hash to \(actual))"))
            default:
                checked += 1
            }
        }
        return AuditReport(events: events.count, recordings: recordings.count, printedDocuments: documents.count,
                           fingerprints: fingerprints.count, blobsChecked: checked, heldByServer: heldByServer, problems: problems)
    }
}
