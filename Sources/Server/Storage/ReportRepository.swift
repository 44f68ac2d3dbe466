import Foundation
import SyncProtocol

/// The records behind the monthly report, the ledger's gaps and reconciliation, on SQLite and
/// PostgreSQL alike. The counts themselves are written by `commitBatch`, with the commit.
protocol ReportRepository: Sendable {
    /// Keeps what the gateway said it still holds, unless a report it signed later is kept already.
    func recordBacklog(gatewayId: String, backlog: GatewayBacklog, reportedAt: String, at: Date) async throws
    /// The month's counts ("2026-11"), a line per unit, kind and document type.
    func reportTallies(month: String) async throws -> [ReportTallyRow]
    /// Months that have any count, newest first.
    func reportMonths() async throws -> [String]
    /// The latest report of what it holds of every gateway not revoked that sent one.
    func gatewayBacklogs() async throws -> [GatewayBacklog]
    /// Every gateway with its last report of what it holds and its batches not yet committed.
    func gatewayReconciliation() async throws -> [GatewayReconciliation]
    /// Every camera that has sent a recording, with the latest one's time.
    func cameraSightings() async throws -> [CameraSightingRecord]
    /// Items of the month receipted more than a day after they were recorded, the earliest
    /// recorded first (up to `limit`), and how many there are in all.
    func lateItems(month: String, limit: Int) async throws -> (total: Int, items: [LateItemRecord])
}

/// A stored line of a month's counts.
struct ReportTallyRow: Sendable, Equatable {
    var unit: String
    var kind: String
    var documentType: String
    var tally: ReportFacts.Tally
}

/// A gateway as reconciliation sees it.
struct GatewayReconciliation: Sendable, Equatable {
    var name: String
    var state: GatewayRecord.State
    var lastSeenAt: Date?
    var lastCommittedAt: Date?
    /// Batches announced but not committed, and their items.
    var openBatches: Int
    var openItems: Int
    /// The gateway's latest report of what it still holds; nil from a gateway that never sent one.
    var backlog: GatewayBacklog?
    /// When the gateway signed that report (its manifest's time).
    var backlogReportedAt: String?
}

struct CameraSightingRecord: Sendable, Equatable {
    var serial: String
    var unit: String
    var gatewayName: String
    var lastRecordedAt: String
    var lastReceiptedAt: Date
}

struct LateItemRecord: Sendable, Equatable {
    var batchId: String
    var position: Int
    var gatewayName: String
    var unit: String
    var kind: String
    var officer: String?
    var camera: String?
    var recordedAt: String
    var committedAt: Date
}
