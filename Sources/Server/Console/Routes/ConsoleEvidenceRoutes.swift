import Foundation
import HTTPTypes
import Hummingbird

/// Finding and viewing evidence: the search, an item's page (its metadata, custody and
/// receipt), and its bytes with HTTP ranges, so a browser's `<video>` can seek.
extension ConsoleRoutes {
    static let searchPage = 50
    /// Bytes read from the blob store at a time while a range is sent.
    static let contentPiece = 1 << 20

    func registerEvidence(on console: RouterGroup<ServerRequestContext>) {
        console.get("items") { request, requestContext in try await search(request, address: Self.address(requestContext)) }
        console.get("items/:batch/:position") { request, requestContext in
            try await itemPage(request, requestContext, address: Self.address(requestContext))
        }
        console.get("items/:batch/:position/content") { request, requestContext in
            try await content(request, requestContext, address: Self.address(requestContext))
        }
        console.get("items/:batch/:position/image.png") { request, requestContext in
            try await fingerprintImage(request, requestContext, address: Self.address(requestContext))
        }
        console.get("items/:batch/:position/receipt") { request, requestContext in
            try await receipt(request, requestContext, address: Self.address(requestContext))
        }
        console.post("items/:batch/:position/review") { request, requestContext in
            try await review(request, requestContext, address: Self.address(requestContext))
        }
        console.post("items/:batch/:position/restore") { request, requestContext in
            try await restore(request, requestContext, address: Self.address(requestContext))
        }
        console.get("work") { request, requestContext in try await workList(request, address: Self.address(requestContext)) }
        console.get("retention") { request, requestContext in try await retentionPage(request, address: Self.address(requestContext)) }
    }

    private func search(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .viewEvidence) { session, user, language in
            let labels = ConsoleText.table(language)
            var parameters: [String: String] = [:]
            for (key, value) in request.uri.queryParameters where parameters[String(key)] == nil { parameters[String(key)] = String(value) }
            var values: [String: Any] = ["form": parameters, "kinds": ItemKind.allCases.map { kind in
                ["value": kind.rawValue, "label": labels["kind." + kind.rawValue] ?? kind.rawValue, "selected": parameters["kind"] == kind.rawValue]
            }]
            let categories = try await context.repository.categories()
            values["categories"] = categories.map { ["code": $0.code, "label": $0.label(language), "selected": parameters["category"] == $0.code] }
            values["uncategorisedSelected"] = parameters["category"] == "none"
            let pageNumber = max(1, min(10_000, parameters["page"].flatMap(Int.init) ?? 1))
            do {
                let query = try ItemQuery.parse(parameters)
                let found = try await context.repository.searchItems(query, limit: Self.searchPage + 1, offset: (pageNumber - 1) * Self.searchPage)
                try await accessLog.record(.search, actor: user.name, address: address, subject: Self.path + "/items",
                                           detail: Self.canonicalQuery(parameters))
                values["searched"] = true
                values["results"] = found.prefix(Self.searchPage).map { Self.row($0, labels, categories: categories, language: language) }
                values["none"] = found.isEmpty
                var next = parameters
                next["page"] = String(pageNumber + 1)
                    if found.count > Self.searchPage { values["nextPage"] = Self.path + "/items?" + Self.canonicalQuery(next) }
            } catch let error as ItemQueryError {
                values["message"] = error.description
                return html(.badRequest, pages.render("items", title: labels["search"] ?? "", language: language, user: user,
                                                      csrf: session.csrfToken, values: values), request: request)
            }
            return html(.ok, pages.render("items", title: labels["search"] ?? "", language: language, user: user,
                                          csrf: session.csrfToken, values: values), request: request)
        }
    }

    private func itemPage(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        try await page(request, needs: .viewEvidence) { session, user, language in
            let labels = ConsoleText.table(language)
            guard let found = try await item(requestContext) else { return notFound(request, language, user, session) }
            try await accessLog.record(.viewItem, actor: user.name, address: address, subject: found.item.sha256,
                                       detail: "batch \(found.batchId) item \(found.item.position)")
            let categories = try await context.repository.categories()
            var values = Self.row(found, labels, categories: categories, language: language)
            values["metadata"] = found.item.metadata.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
            var timeline: [[String: String]] = found.item.custody.map { event in
                ["at": event.at, "who": labels["timeline.gateway"] ?? "", "what": labels["custody." + event.kind.rawValue] ?? event.kind.rawValue,
                 "detail": event.details == "{}" ? "" : event.details, "hash": String(event.hash.prefix(12))]
            }
            if let committed = found.committedAt {
                timeline.append(["at": committed.formatted(AccessEvent.timeFormat), "who": labels["timeline.server"] ?? "",
                                 "what": labels["timeline.receipted"] ?? "", "detail": "batch \(found.batchId)", "hash": ""])
            }
            for event in try await context.repository.serverCustody(batchId: found.batchId, position: found.item.position) {
                timeline.append(["at": event.at, "who": event.actor, "what": labels["serverCustody." + event.kind.rawValue] ?? event.kind.rawValue,
                                 "detail": event.details, "hash": String(event.hash.prefix(12))])
            }
            values["timeline"] = timeline
            values["retention"] = Self.retentionText(found, labels, now: context.clock.now())
            if found.retentionState == .recycled, user.role.may(.restore) {
                values["restoreURL"] = "\(Self.path)/items/\(found.batchId)/\(found.item.position)/restore"
            }
            if user.role.may(.categorise) {
                values["review"] = ["action": "\(Self.path)/items/\(found.batchId)/\(found.item.position)/review",
                                    "case": found.reviewedCase ?? "", "withheld": found.withheld, "held": found.held,
                                    "categories": categories.map { ["code": $0.code, "label": $0.label(language), "selected": $0.code == found.category] }]
                    as [String: Any]
            }
            let base = "\(Self.path)/items/\(found.batchId)/\(found.item.position)"
            values["contentURL"] = base + "/content"
            values["receiptURL"] = base + "/receipt"
            switch (ItemKind(rawValue: found.item.kind), Self.mediaType(of: found)) {
            case (.recording?, "video"): values["video"] = true
            case (.recording?, "audio"): values["audio"] = true
            case (.recording?, "photo"): values["photo"] = true
            case (.printout?, _) where found.retentionState != .deleted:
                do {
                    let bytes = try await paperworkBytes(found, largest: PaperworkView.largestPrintout)
                    let printout = try PaperworkView.printout(bytes, verificationId: found.item.metadata["verificationId"])
                    values["printout"] = ["text": printout.text, "verificationId": printout.verificationId ?? "",
                                          "qrMatches": printout.qrMatches] as [String: Any]
                } catch {
                    values["printoutError"] = "\(error)"
                }
            case (.fingerprint?, _) where found.retentionState != .deleted: values["fingerprint"] = ["imageURL": base + "/image.png"]
            default: values["download"] = true
            }
            return html(.ok, pages.render("item", title: found.item.sha256.prefix(12) + "…", language: language, user: user,
                                          csrf: session.csrfToken, values: values), request: request)
        }
    }

    /// A printout's or fingerprint's bytes, whole, for decoding; refused past `largest`.
    private func paperworkBytes(_ found: FoundItem, largest: Int) async throws -> [UInt8] {
        guard found.item.size <= Int64(largest) else {
            throw ServerError(.contentTooLarge, "the item is \(found.item.size) bytes, too large to show (at most \(largest))")
        }
        guard let data = try await context.blobs.read(found.item.sha256, offset: 0, length: Int(found.item.size)),
              data.count == Int(found.item.size) else {
            throw ServerError(.internalServerError, "blob \(found.item.sha256) is shorter than its item says")
        }
        return Array(data)
    }

    /// A fingerprint, kept as PGM, as a PNG for the item page.
    private func fingerprintImage(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        try await page(request, needs: .viewEvidence) { session, user, language in
            guard let found = try await item(requestContext), found.item.kind == ItemKind.fingerprint.rawValue,
                  found.retentionState != .deleted else { return notFound(request, language, user, session) }
            let image: GrayscaleImage
            do {
                image = try GrayscaleImage(pgm: try await paperworkBytes(found, largest: PaperworkView.largestFingerprint))
            } catch let error as GrayscaleImage.ParseError {
                return html(.unprocessableContent, pages.render("message", title: "422", language: language, user: user, csrf: session.csrfToken,
                                                                values: ["message": error.description]), request: request)
            }
            try await accessLog.record(.viewItem, actor: user.name, address: address, subject: found.item.sha256,
                                       detail: "fingerprint image, batch \(found.batchId) item \(found.item.position)")
            return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, no-store",
                                                   HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                            body: .init(byteBuffer: ByteBuffer(bytes: image.png)))
        }
    }

    /// The blob, whole or one range of it (RFC 9110: `bytes=a-b`, `bytes=a-`, `bytes=-n`); 416
    /// for a range past the end. Read from the store a piece at a time, so a long recording
    /// never sits in memory.
    private func content(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        try await page(request, needs: .viewEvidence) { session, user, language in
            guard let found = try await item(requestContext) else { return notFound(request, language, user, session) }
            if found.retentionState == .deleted {
                return html(.gone, pages.render("message", title: "410", language: language, user: user, csrf: session.csrfToken,
                                                values: ["message": Self.retentionText(found, labels: ConsoleText.table(language), now: context.clock.now())]),
                            request: request)
            }
            return try await blobResponse(found, request: request, download: true) { range in
                try await accessLog.record(.playItem, actor: user.name, address: address, subject: found.item.sha256,
                                           detail: range.map { "bytes \($0.lowerBound)-\($0.upperBound)" } ?? "whole")
            }
        }
    }

    /// The item's bytes, whole or one range; `firstRange` runs for a request from byte 0 (a
    /// player's many requests stand for one playback).
    func blobResponse(_ found: FoundItem, request: Request, download: Bool,
                      firstRange: (ClosedRange<Int64>?) async throws -> Void) async throws -> Response {
        let size = found.item.size
        var headers: HTTPFields = [.contentType: Self.contentType(of: found), .acceptRanges: "bytes", .cacheControl: "private, no-store",
                                   HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                                   .contentDisposition: download ? "inline; filename=\"\(found.item.sha256.prefix(16))\"" : "inline"]
        let range: ClosedRange<Int64>?
        switch Self.byteRange(request.headers[.range], size: size) {
        case .whole: range = nil
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(size)"
            return Response(status: .rangeNotSatisfiable, headers: headers)
        case .part(let part): range = part
        }
        if (range?.lowerBound ?? 0) == 0 { try await firstRange(range) }
        let span = range ?? 0...(max(size, 1) - 1)
        let length = size == 0 ? 0 : span.upperBound - span.lowerBound + 1
        headers[.contentLength] = String(length)
        if let range { headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)" }
        let blobs = context.blobs, sha256 = found.item.sha256
        let body = ResponseBody { writer in
            var offset = span.lowerBound
            let end = span.lowerBound + length
            while offset < end {
                let count = Int(min(Int64(Self.contentPiece), end - offset))
                guard let piece = try await blobs.read(sha256, offset: offset, length: count), piece.count == count else {
                    throw ServerError(.internalServerError, "blob \(sha256) is shorter than its item says")
                }
                try await writer.write(ByteBuffer(bytes: piece))
                offset += Int64(count)
            }
            try await writer.finish(nil)
        }
        return Response(status: range == nil ? .ok : .partialContent, headers: headers, body: body)
    }

    private func receipt(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        try await page(request, needs: .viewEvidence) { session, user, language in
            guard let found = try await item(requestContext), let batch = try await context.repository.batch(id: found.batchId),
                  let receipt = batch.receipt else { return notFound(request, language, user, session) }
            try await accessLog.record(.viewReceipt, actor: user.name, address: address, subject: found.item.sha256, detail: "batch \(found.batchId)")
            var headers = Self.pageHeaders
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.contentDisposition] = "inline; filename=\"receipt-\(found.batchId).json\""
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: receipt)))
        }
    }

    /// A reviewer sets the item's category and case: each change is a custody event continuing
    /// the item's chain, and an access-log entry.
    private func review(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        let form = try await Self.form(request)
        return try await page(request, needs: .categorise) { session, user, language in
            if let refused = refusedForm(request, token: form["csrf"], session, user, language) { return refused }
            guard let found = try await item(requestContext) else { return notFound(request, language, user, session) }
            let change: ItemReviewChange
            let known = try await context.repository.categories()
            do {
                change = try ItemReviewChange.parse(category: form["category"], caseNumber: form["case"], withheld: form["withheld"] == "1",
                                                    held: form["held"] == "1", known: known)
            } catch let error as ItemReviewError {
                return html(.badRequest, pages.render("message", title: "400", language: language, user: user, csrf: session.csrfToken,
                                                      values: ["message": error.description]), request: request)
            }
            let chainHash = found.item.custody.last?.hash ?? AccessEvent.genesisHash
            let events = try await context.repository.reviewItem(batchId: found.batchId, position: found.item.position, change: change,
                                                                 actor: user.name, at: context.clock.now(), chainHash: chainHash)
            for event in events {
                let action: AccessAction = switch event.kind {
                case .categorised: .categorise
                case .caseBound, .caseUnbound: .bindCase
                case .withheld, .released: .markDisclosure
                case .held, .holdReleased: .legalHold
                case .recycled: .retentionRecycled
                case .restored: .retentionRestored
                case .purged: .retentionDeleted
                }
                try await accessLog.record(action, actor: user.name, address: address,
                                           subject: found.item.sha256, detail: event.details)
            }
            return redirect(to: "\(Self.path)/items/\(found.batchId)/\(found.item.position)", request: request)
        }
    }

    /// An admin brings a recycled item back (as `retention restore` does): a custody event and
    /// an access-log entry; 409 when it is no longer recycled.
    private func restore(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        let form = try await Self.form(request)
        return try await page(request, needs: .restore) { session, user, language in
            let labels = ConsoleText.table(language)
            if let refused = refusedForm(request, token: form["csrf"], session, user, language) { return refused }
            guard let found = try await item(requestContext) else { return notFound(request, language, user, session) }
            let notRecycled = html(.conflict, pages.render("message", title: "409", language: language, user: user, csrf: session.csrfToken,
                                                           values: ["message": labels["notRecycled"] ?? ""]), request: request)
            guard let candidate = found.retention, candidate.state == .recycled else { return notRecycled }
            do {
                _ = try await context.repository.applyRetention(.restore(reason: "restored by \(user.name) on the console"), to: candidate,
                                                                actor: user.name, at: context.clock.now())
            } catch RetentionConflict.stateChanged {
                return notRecycled
            }
            try await accessLog.record(.retentionRestored, actor: user.name, address: address, subject: found.item.sha256,
                                       detail: "\(found.batchId)/\(found.item.position): restored on the console")
            return redirect(to: "\(Self.path)/items/\(found.batchId)/\(found.item.position)", request: request)
        }
    }

    /// Reviewers' work list: items nobody has categorised yet, oldest first — kept, never expired.
    private func workList(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .categorise) { session, user, language in
            let labels = ConsoleText.table(language)
            let pageNumber = max(1, min(10_000, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1))
            var query = ItemQuery()
            query.category = .uncategorised
            query.oldestFirst = true
            let found = try await context.repository.searchItems(query, limit: Self.searchPage + 1, offset: (pageNumber - 1) * Self.searchPage)
            try await accessLog.record(.viewWorkList, actor: user.name, address: address, subject: Self.path + "/work")
            let categories = try await context.repository.categories()
            var values: [String: Any] = ["searched": true, "none": found.isEmpty,
                                         "results": found.prefix(Self.searchPage).map { Self.row($0, labels, categories: categories, language: language) }]
            if found.count > Self.searchPage { values["nextPage"] = "\(Self.path)/work?page=\(pageNumber + 1)" }
            return html(.ok, pages.render("work", title: labels["workList"] ?? "", language: language, user: user,
                                          csrf: session.csrfToken, values: values), request: request)
        }
    }

    /// Deletions due in the next 30 days, and the items in the recycle state.
    private func retentionPage(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .viewRetention) { session, user, language in
            let labels = ConsoleText.table(language)
            try await accessLog.record(.viewRetention, actor: user.name, address: address, subject: Self.path + "/retention")
            let now = context.clock.now()
            let horizon = now.addingTimeInterval(TimeInterval(RetentionPolicy.dueWindowDays) * 86400)
            let categories = try await context.repository.categories()
            var due: [[String: Any]] = [], recycled: [[String: Any]] = []
            for candidate in try await context.repository.retentionCandidates() {
                guard let found = try await context.repository.consoleItem(batchId: candidate.batchId, position: candidate.position) else { continue }
                var row = Self.row(found, labels, categories: categories, language: language)
                if candidate.state == .recycled {
                    row["purgeAfter"] = candidate.purgeAfter?.formatted(AccessEvent.timeFormat) ?? ""
                    if user.role.may(.restore) { row["restoreURL"] = "\(Self.path)/items/\(candidate.batchId)/\(candidate.position)/restore" }
                    recycled.append(row)
                } else if let expires = candidate.expiresAt(), expires <= horizon {
                    row["expires"] = expires.formatted(AccessEvent.timeFormat)
                    due.append(row)
                }
            }
            return html(.ok, pages.render("retention", title: labels["retention"] ?? "", language: language, user: user, csrf: session.csrfToken,
                                          values: ["due": due, "recycled": recycled]), request: request)
        }
    }

    /// Where the item stands in retention, in words.
    static func retentionText(_ found: FoundItem, _ labels: [String: String], now: Date) -> String {
        retentionText(found, labels: labels, now: now)
    }

    static func retentionText(_ found: FoundItem, labels: [String: String], now: Date) -> String {
        func time(_ date: Date?) -> String { date?.formatted(AccessEvent.timeFormat) ?? "" }
        switch found.retentionState {
        case .deleted?: return (labels["retention.deleted"] ?? "") + " " + time(found.deletedAt)
        case .recycled?: return (labels["retention.recycled"] ?? "") + " " + time(found.purgeAfter)
        case nil: break
        }
        guard let retention = found.retention else { return "" }
        if found.category == nil { return labels["retention.uncategorised"] ?? "" }
        if let reason = retention.permanentBecause { return (labels["retention.permanent"] ?? "") + " (" + reason + ")" }
        return (labels["retention.until"] ?? "") + " " + time(retention.expiresAt())
    }

    /// The item the path names; nil for a path that names none (or is not an id at all).
    private func item(_ requestContext: ServerRequestContext) async throws -> FoundItem? {
        guard let batchId = requestContext.parameters.get("batch"), Self.isBatchId(batchId),
              let positionText = requestContext.parameters.get("position"), positionText.count <= 9,
              let position = Int(positionText), position >= 0 else { return nil }
        return try await context.repository.consoleItem(batchId: batchId, position: position)
    }

    private func notFound(_ request: Request, _ language: ConsoleLanguage, _ user: ConsoleUserRecord, _ session: ConsoleSessionRecord) -> Response {
        html(.notFound, pages.render("message", title: "404", language: language, user: user, csrf: session.csrfToken,
                                     values: ["message": ConsoleText.table(language)["notFound"] ?? ""]), request: request)
    }

    static func isBatchId(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || byte == UInt8(ascii: "-")
        }
    }

    static func row(_ found: FoundItem, _ labels: [String: String], categories: [EvidenceCategory] = [],
                    language: ConsoleLanguage = .zh) -> [String: Any] {
        let metadata = found.item.metadata
        let category = found.category.map { code in categories.first { $0.code == code }?.label(language) ?? code }
        return ["category": category ?? (labels["uncategorised"] ?? ""), "uncategorised": found.category == nil,
                "withheld": found.withheld, "itemValue": "\(found.batchId)/\(found.item.position)",
                "url": "\(path)/items/\(found.batchId)/\(found.item.position)", "sha256": found.item.sha256,
                "short": String(found.item.sha256.prefix(12)), "kind": labels["kind." + found.item.kind] ?? found.item.kind,
                "recordedAt": found.recordedAt ?? "", "officer": metadata["officer"] ?? "", "camera": metadata["camera"] ?? "",
                "case": found.caseNumber ?? "", "gateway": found.gatewayName, "size": ByteCountFormatter.string(fromByteCount: found.item.size, countStyle: .file),
                "flags": metadata["flags"] ?? "", "important": metadata["important"] == "true"]
    }

    /// The search's fields in a stable order, for the access log and the next page's link.
    static func canonicalQuery(_ parameters: [String: String]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return parameters.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
            .map { "\($0.key.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
    }

    static func mediaType(of found: FoundItem) -> String? {
        found.item.kind == ItemKind.recording.rawValue ? found.item.metadata["mediaType"] : nil
    }

    /// What the bytes are, from the container the gateway's probe found; never guessed from a name.
    static func contentType(of found: FoundItem) -> String {
        switch found.item.metadata["container"] {
        case "mp4": "video/mp4"
        case "mov": "video/quicktime"
        case "jpeg": "image/jpeg"
        case "wav": "audio/wav"
        case "mp3": "audio/mpeg"
        case "aac": "audio/aac"
        default: "application/octet-stream"
        }
    }

    enum ByteRange: Equatable {
        case whole
        case part(ClosedRange<Int64>)
        case unsatisfiable
    }

    /// One range of a `Range` header; a header this does not understand (several ranges, another
    /// unit) is ignored and the whole is sent, as RFC 9110 allows.
    static func byteRange(_ header: String?, size: Int64) -> ByteRange {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        if parts[0].isEmpty {
            guard let suffix = Int64(parts[1]), suffix > 0 else { return .unsatisfiable }
            return size == 0 ? .unsatisfiable : .part(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int64(parts[0]), start >= 0 else { return .whole }
        guard start < size else { return .unsatisfiable }
        let end = parts[1].isEmpty ? size - 1 : min(size - 1, Int64(parts[1]) ?? -1)
        guard end >= start else { return parts[1].isEmpty ? .unsatisfiable : .whole }
        return .part(start...end)
    }
}
