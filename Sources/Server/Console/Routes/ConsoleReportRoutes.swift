import Common
import Foundation
import HTTPTypes
import Hummingbird

/// The bureau's accounts of its evidence: the monthly report (page, CSV, printable), the
/// A/V ledger as CSV, and reconciliation (late docking, silent gateways and cameras, what each
/// gateway still holds). Admins, reviewers and auditors may read them; each reading is in the
/// access log.
extension ConsoleRoutes {
    /// Late items listed on the reconciliation page (all of them are counted).
    static let lateListed = 200
    /// A gateway or camera unheard of for longer than this many days is silent, unless the page asks for another number.
    static let defaultSilentDays = 3

    func registerReports(on console: RouterGroup<ServerRequestContext>) {
        console.get("reports") { request, requestContext in try await reportPage(request, address: Self.address(requestContext), print: false) }
        console.get("reports/print") { request, requestContext in try await reportPage(request, address: Self.address(requestContext), print: true) }
        console.get("reports/monthly.csv") { request, requestContext in try await reportCSV(request, address: Self.address(requestContext)) }
        console.get("reports/ledger.csv") { request, requestContext in try await ledgerCSV(request, address: Self.address(requestContext)) }
        console.get("reconciliation") { request, requestContext in
            try await reconciliationPage(request, address: Self.address(requestContext))
        }
    }

    /// The month and unit a report page was asked for: the current month by default.
    private struct ReportChoice {
        var month: String
        var unit: String?
    }

    private func choice(_ request: Request, _ labels: [String: String]) -> Result<ReportChoice, ReportChoiceError> {
        let parameters = request.uri.queryParameters
        let month: String
        if let asked = parameters["month"].map(String.init), !asked.isEmpty {
            guard let parsed = MonthlyReport.parseMonth(asked) else { return .failure(.init(message: (labels["reportBadMonth"] ?? "") + " \(asked.prefix(16))")) }
            month = parsed
        } else {
            month = ReportFacts.month(of: context.clock.now(), calendar: .current)
        }
        var unit: String?
        if let asked = parameters["unit"].map(String.init), !asked.isEmpty {
            guard asked.count <= ItemQuery.maximumFieldLength,
                  !asked.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                return .failure(.init(message: labels["reportBadUnit"] ?? ""))
            }
            unit = asked
        }
        return .success(ReportChoice(month: month, unit: unit))
    }

    private struct ReportChoiceError: Error { var message: String }

    private func badRequest(_ request: Request, _ message: String, _ session: ConsoleSessionRecord, _ user: ConsoleUserRecord,
                            _ language: ConsoleLanguage) -> Response {
        html(.badRequest, pages.render("message", title: "400", language: language, user: user, csrf: session.csrfToken,
                                       values: ["message": message]), request: request)
    }

    private func monthlyReport(_ choice: ReportChoice) async throws -> MonthlyReport {
        MonthlyReport(month: choice.month, tallies: try await context.repository.reportTallies(month: choice.month),
                      backlogs: try await context.repository.gatewayBacklogs(), unit: choice.unit)
    }

    private func reportPage(_ request: Request, address: String, print: Bool) async throws -> Response {
        try await page(request, needs: .readReports) { session, user, language in
            let labels = ConsoleText.table(language)
            let chosen: ReportChoice
            switch choice(request, labels) {
            case .success(let value): chosen = value
            case .failure(let error): return badRequest(request, error.message, session, user, language)
            }
            let report = try await monthlyReport(chosen)
            try await accessLog.record(.viewReport, actor: user.name, address: address, subject: Self.path + "/reports",
                                       detail: "month \(chosen.month)" + (chosen.unit.map { " unit \($0)" } ?? ""))
            var query = "month=\(chosen.month)"
            if let unit = chosen.unit { query += "&unit=" + (unit.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
            let line: (MonthlyReport.Line, Bool) -> [String: Any] = { line, isTotal in
                let unitQuery = line.unit.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                return ["unit": isTotal ? labels["reportTotal"] ?? "" : line.unit.isEmpty ? labels["reportNoUnit"] ?? "" : line.unit,
                        "isTotal": isTotal, "recordings": line.recordings, "hours": String(format: "%.2f", line.hours),
                        "printouts": line.printouts, "byType": report.documentTypes.map { ["count": line.printoutsByType[$0] ?? 0] },
                        "fingerprints": line.fingerprints, "flagged": line.flagged, "late": line.late, "received": line.received,
                        "waiting": line.waiting,
                        "retained": line.retainedOnline.map { String(format: "%.2f%%", $0 * 100) } ?? "—",
                        "slipping": (line.retainedOnline ?? 1) < 1,
                        "ledgerURL": "\(Self.path)/reports/ledger.csv?month=\(chosen.month)" + (isTotal ? "" : "&unit=\(unitQuery)")]
            }
            var months = try await context.repository.reportMonths()
            if !months.contains(chosen.month) { months.insert(chosen.month, at: 0) }
            let values: [String: Any] = [
                "month": chosen.month, "unit": chosen.unit ?? "", "query": query,
                "months": months.prefix(36).map { ["month": $0, "selected": $0 == chosen.month] },
                "documentTypes": report.documentTypes.map { ["name": $0.isEmpty ? labels["reportNoType"] ?? "" : $0] },
                "lines": report.lines.map { line($0, false) }, "total": line(report.total, true), "none": report.lines.isEmpty,
                "generated": context.clock.now().formatted(AccessEvent.timeFormat), "printedBy": user.name,
            ]
            let title = (labels["reportTitle"] ?? "") + " " + chosen.month
            let body = print ? pages.renderPrintable("report-print", title: title, language: language, values: values)
                : pages.render("report", title: title, language: language, user: user, csrf: session.csrfToken, values: values)
            return html(.ok, body, request: request)
        }
    }

    private func reportCSV(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .readReports) { session, user, language in
            let labels = ConsoleText.table(language)
            let chosen: ReportChoice
            switch choice(request, labels) {
            case .success(let value): chosen = value
            case .failure(let error): return badRequest(request, error.message, session, user, language)
            }
            let report = try await monthlyReport(chosen)
            try await accessLog.record(.exportReport, actor: user.name, address: address, subject: Self.path + "/reports/monthly.csv",
                                       detail: "month \(chosen.month)" + (chosen.unit.map { " unit \($0)" } ?? ""))
            return csvResponse(report.csv(labels), fileName: "monthly-report-\(chosen.month).csv")
        }
    }

    /// The ledger, written as it is read: a month of a prefecture's items never sits in memory.
    private func ledgerCSV(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .readReports) { session, user, language in
            let labels = ConsoleText.table(language)
            let chosen: ReportChoice
            switch choice(request, labels) {
            case .success(let value): chosen = value
            case .failure(let error): return badRequest(request, error.message, session, user, language)
            }
            guard let (start, end) = MonthlyReport.bounds(of: chosen.month, calendar: .current) else {
                return badRequest(request, (labels["reportBadMonth"] ?? "") + " " + chosen.month, session, user, language)
            }
            try await accessLog.record(.exportLedger, actor: user.name, address: address, subject: Self.path + "/reports/ledger.csv",
                                       detail: "month \(chosen.month)" + (chosen.unit.map { " unit \($0)" } ?? ""))
            var query = ItemQuery()
            query.from = start
            query.until = end
            query.unit = chosen.unit
            query.oldestFirst = true
            let ledgerQuery = query
            let repository = context.repository
            let categories = try await repository.categories()
            let body = ResponseBody { writer in
                try await writer.write(ByteBuffer(string: Ledger.header(labels)))
                var offset = 0
                while true {
                    let page = try await repository.searchItems(ledgerQuery, limit: Ledger.page, offset: offset)
                    let lines = page.enumerated().map { index, found in
                        Ledger.line(offset + index + 1, found, labels, categories: categories, language: language)
                    }
                    if !lines.isEmpty { try await writer.write(ByteBuffer(string: lines.joined())) }
                    guard page.count == Ledger.page else { break }
                    offset += page.count
                }
                try await writer.finish(nil)
            }
            let unitPart = chosen.unit.map { "-" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") } ?? ""
            return Response(status: .ok, headers: Self.csvHeaders(fileName: "ledger-\(chosen.month)\(unitPart).csv"), body: body)
        }
    }

    private func reconciliationPage(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .readReports) { session, user, language in
            let labels = ConsoleText.table(language)
            let chosen: ReportChoice
            switch choice(request, labels) {
            case .success(let value): chosen = value
            case .failure(let error): return badRequest(request, error.message, session, user, language)
            }
            let daysText = request.uri.queryParameters["days"].map(String.init) ?? ""
            guard daysText.isEmpty || (daysText.count <= 4 && Int(daysText).map { (1...3650).contains($0) } == true) else {
                return badRequest(request, labels["reportBadDays"] ?? "", session, user, language)
            }
            let days = Int(daysText) ?? Self.defaultSilentDays
            try await accessLog.record(.viewReconciliation, actor: user.name, address: address, subject: Self.path + "/reconciliation",
                                       detail: "month \(chosen.month) days \(days)")
            let now = context.clock.now()
            let silentSince = now.addingTimeInterval(-Double(days) * 86400)
            let format = AccessEvent.timeFormat
            let gateways = try await context.repository.gatewayReconciliation().filter { $0.state != .revoked }
            let gatewayRows: [[String: Any]] = gateways.map { gateway in
                let heard = gateway.lastSeenAt
                return ["name": gateway.name, "state": labels["gatewayState." + gateway.state.rawValue] ?? gateway.state.rawValue,
                        "lastSeen": heard.map { $0.formatted(format) } ?? labels["never"] ?? "",
                        "lastCommitted": gateway.lastCommittedAt.map { $0.formatted(format) } ?? labels["never"] ?? "",
                        "silent": gateway.state == .active && (heard ?? .distantPast) < silentSince,
                        "openBatches": gateway.openBatches, "openItems": gateway.openItems,
                        "waiting": gateway.backlog.map { String($0.items) } ?? labels["reportNotReported"] ?? "",
                        "waitingBytes": gateway.backlog.flatMap { $0.items == 0 ? nil : ByteCountFormatter.string(fromByteCount: $0.bytes, countStyle: .file) } ?? "",
                        "oldestWaiting": gateway.backlog?.oldestRecordedAt ?? "", "reportedAt": gateway.backlogReportedAt ?? "",
                        "unit": gateway.backlog?.unit ?? ""]
            }
            let silentText = silentSince.formatted(Timestamp.format)
            let cameras = try await context.repository.cameraSightings().filter { $0.lastRecordedAt < silentText }
            let late = try await context.repository.lateItems(month: chosen.month, limit: Self.lateListed)
            let values: [String: Any] = [
                "month": chosen.month, "days": days,
                "gateways": gatewayRows, "silentGateways": gatewayRows.filter { $0["silent"] as? Bool == true }.count,
                "cameras": cameras.map { ["serial": $0.serial, "unit": $0.unit, "gateway": $0.gatewayName, "lastRecorded": $0.lastRecordedAt,
                                          "lastReceipted": $0.lastReceiptedAt.formatted(format)] },
                "noCameras": cameras.isEmpty,
                "lateTotal": late.total, "lateMore": late.total > late.items.count, "noLate": late.items.isEmpty,
                "late": late.items.map { item in
                    ["url": "\(Self.path)/items/\(item.batchId)/\(item.position)", "recordedAt": item.recordedAt,
                     "receivedAt": item.committedAt.formatted(format), "unit": item.unit, "kind": labels["kind." + item.kind] ?? item.kind,
                     "officer": item.officer ?? "", "camera": item.camera ?? "", "gateway": item.gatewayName,
                     "delay": Self.delayText(from: item.recordedAt, to: item.committedAt, labels)]
                },
            ]
            return html(.ok, pages.render("reconciliation", title: labels["reconciliation"] ?? "", language: language, user: user,
                                          csrf: session.csrfToken, values: values), request: request)
        }
    }

    /// "3 d 4 h" between the recording and its receipt.
    static func delayText(from recorded: String, to received: Date, _ labels: [String: String]) -> String {
        guard let start = Timestamp.parse(recorded) else { return "" }
        let hours = Int(received.timeIntervalSince(start) / 3600)
        return "\(hours / 24) \(labels["daysShort"] ?? "d") \(hours % 24) \(labels["hoursShort"] ?? "h")"
    }

    func csvResponse(_ text: String, fileName: String) -> Response {
        Response(status: .ok, headers: Self.csvHeaders(fileName: fileName), body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A console page's headers for a CSV download.
    static func csvHeaders(fileName: String) -> HTTPFields {
        var headers = pageHeaders
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(fileName)\""
        return headers
    }
}
