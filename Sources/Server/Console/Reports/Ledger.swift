import Foundation

/// The A/V ledger (音像记录台账): every item of a month (and unit) the server holds, a line
/// each in the order they were recorded, as CSV a unit files or checks against its own.
enum Ledger {
    /// Items read from the database at a time while the ledger is written.
    static let page = 2000

    static func header(_ labels: [String: String]) -> String {
        let names = ["ledger.number", "unit", "recordedAt", "kind", "officer", "camera", "case", "category", "ledger.seconds",
                     "ledger.source", "ledger.bytes", "ledger.sha256", "gateway", "ledger.receivedAt", "ledger.batch"]
        return "\u{FEFF}" + names.map { AccessEvent.csvField(labels[$0] ?? $0) }.joined(separator: ",") + "\r\n"
    }

    static func line(_ number: Int, _ found: FoundItem, _ labels: [String: String], categories: [EvidenceCategory],
                     language: ConsoleLanguage) -> String {
        let metadata = found.item.metadata
        let category = found.category.map { code in categories.first { $0.code == code }?.label(language) ?? code }
        let source = metadata["source"] ?? metadata["document"] ?? ""
        let fields = [String(number), metadata["unit"] ?? "", found.recordedAt ?? "", labels["kind." + found.item.kind] ?? found.item.kind,
                      metadata["officer"] ?? "", metadata["camera"] ?? "", found.caseNumber ?? "", category ?? (labels["uncategorised"] ?? ""),
                      metadata["durationSeconds"] ?? "", source, String(found.item.size), found.item.sha256, found.gatewayName,
                      found.committedAt.map { $0.formatted(AccessEvent.timeFormat) } ?? "", found.batchId]
        return fields.map(AccessEvent.csvField).joined(separator: ",") + "\r\n"
    }
}
