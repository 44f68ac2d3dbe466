import Foundation
import SyncProtocol

/// The monthly statistics report (行政执法行为数据统计月报) of one month: per unit, recordings
/// and their hours, printouts by document type, fingerprints, flagged and late items, what the
/// unit's gateways still hold, and the share retained online (网上留存率).
struct MonthlyReport: Sendable, Equatable {
    struct Line: Sendable, Equatable {
        /// Empty: items whose gateway named no unit.
        var unit: String
        var recordings = 0
        var seconds = 0.0
        var printouts = 0
        var printoutsByType: [String: Int] = [:]
        var fingerprints = 0
        var flagged = 0
        var late = 0
        /// What the unit's gateways last said they hold of this month, unreceipted.
        var waiting = 0

        /// Items the server receipted.
        var received: Int { recordings + printouts + fingerprints + other }
        /// Kinds a gateway of a later build may send.
        var other = 0
        var hours: Double { seconds / 3600 }
        /// received / (received + waiting); nil when neither has anything.
        var retainedOnline: Double? { received + waiting == 0 ? nil : Double(received) / Double(received + waiting) }

        mutating func add(_ line: Line) {
            recordings += line.recordings
            seconds += line.seconds
            printouts += line.printouts
            for (type, count) in line.printoutsByType { printoutsByType[type, default: 0] += count }
            fingerprints += line.fingerprints
            flagged += line.flagged
            late += line.late
            waiting += line.waiting
            other += line.other
        }
    }

    var month: String
    /// Every document type printed in the month, in order.
    var documentTypes: [String]
    /// One per unit, in the units' order; only `unit` when a unit was asked for.
    var lines: [Line]
    var total: Line

    /// - Parameter backlogs: the gateways' latest reports of what they hold (revoked gateways' left out).
    init(month: String, tallies: [ReportTallyRow], backlogs: [GatewayBacklog], unit: String? = nil) {
        self.month = month
        var byUnit: [String: Line] = [:]
        for row in tallies {
            var line = byUnit[row.unit] ?? Line(unit: row.unit)
            switch ItemKind(rawValue: row.kind) {
            case .recording?:
                line.recordings += row.tally.items
                line.seconds += row.tally.seconds
            case .printout?:
                line.printouts += row.tally.items
                line.printoutsByType[row.documentType, default: 0] += row.tally.items
            case .fingerprint?: line.fingerprints += row.tally.items
            case nil: line.other += row.tally.items
            }
            line.flagged += row.tally.flagged
            line.late += row.tally.late
            byUnit[row.unit] = line
        }
        for backlog in backlogs {
            guard let waiting = backlog.byMonth[month], waiting > 0 else { continue }
            let unit = backlog.unit ?? ""
            byUnit[unit, default: Line(unit: unit)].waiting += waiting
        }
        if let unit { byUnit = byUnit.filter { $0.key == unit } }
        lines = byUnit.values.sorted { $0.unit.isEmpty != $1.unit.isEmpty ? !$0.unit.isEmpty : $0.unit < $1.unit }
        documentTypes = Set(lines.flatMap(\.printoutsByType.keys)).sorted()
        var total = Line(unit: "")
        for line in lines { total.add(line) }
        self.total = total
    }

    /// "2026-11", or nil when the text is not a month.
    static func parseMonth(_ text: String) -> String? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 7, parts.count == 2, parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int(parts[0]), let month = Int(parts[1]), (1970...9999).contains(year), (1...12).contains(month) else { return nil }
        return text
    }

    /// The first instant of `month` and of the month after, on `calendar`.
    static func bounds(of month: String, calendar: Calendar) -> (start: Date, end: Date)? {
        let parts = month.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: 1)),
              let end = calendar.date(byAdding: .month, value: 1, to: start) else { return nil }
        return (start, end)
    }

    /// The report as CSV (RFC 4180, UTF-8 with a byte-order mark so spreadsheets read the
    /// Chinese), headed in `labels`' language.
    func csv(_ labels: [String: String]) -> String {
        let header = [labels["unit"] ?? "unit", labels["reportRecordings"] ?? "", labels["reportHours"] ?? "",
                      labels["reportPrintouts"] ?? ""]
            + documentTypes.map { (labels["reportPrintoutsOfType"] ?? "") + ($0.isEmpty ? labels["reportNoType"] ?? "" : $0) }
            + [labels["reportFingerprints"] ?? "", labels["reportFlagged"] ?? "", labels["reportLate"] ?? "",
               labels["reportReceived"] ?? "", labels["reportWaiting"] ?? "", labels["reportRetained"] ?? ""]
        var text = "\u{FEFF}" + header.map(AccessEvent.csvField).joined(separator: ",") + "\r\n"
        for (index, line) in (lines + [total]).enumerated() {
            let name = index == lines.count ? labels["reportTotal"] ?? "" : line.unit.isEmpty ? labels["reportNoUnit"] ?? "" : line.unit
            let fields = [name, String(line.recordings), String(format: "%.2f", line.hours), String(line.printouts)]
                + documentTypes.map { String(line.printoutsByType[$0] ?? 0) }
                + [String(line.fingerprints), String(line.flagged), String(line.late), String(line.received), String(line.waiting),
                   line.retainedOnline.map { String(format: "%.2f%%", $0 * 100) } ?? ""]
            text += fields.map(AccessEvent.csvField).joined(separator: ",") + "\r\n"
        }
        return text
    }
}
