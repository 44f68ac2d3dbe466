import Foundation
import HTTPTypes
import Hummingbird

/// Shares: reviewers make them from a search's results and revoke them; the recipient opens
/// `/share/TOKEN` without an account. Every view and playback through a link is in the access
/// log under `share:ID`.
extension ConsoleRoutes {
    static let sharePath = "/share"

    func registerSharing(on console: RouterGroup<ServerRequestContext>, public router: Router<ServerRequestContext>) {
        console.post("shares") { request, requestContext in try await createShare(request, address: Self.address(requestContext)) }
        console.get("shares") { request, requestContext in try await sharesPage(request, address: Self.address(requestContext)) }
        console.post("shares/:id/revoke") { request, requestContext in try await revokeShare(request, requestContext, address: Self.address(requestContext)) }
        let shared = router.group(RouterPath(Self.sharePath))
        shared.get(":token") { request, requestContext in try await sharedPage(request, requestContext) }
        shared.get(":token/items/:batch/:position/content") { request, requestContext in try await sharedContent(request, requestContext) }
    }

    private func createShare(_ request: Request, address: String) async throws -> Response {
        let pairs = try await Self.formPairs(request)
        return try await page(request, needs: .share) { session, user, language in
            let labels = ConsoleText.table(language)
            if let refused = refusedForm(request, token: pairs.first(where: { $0.0 == "csrf" })?.1, session, user, language) { return refused }
            let wanted: ShareRequest
            do {
                wanted = try ShareRequest.parse(pairs)
                for item in wanted.items {
                    guard let found = try await context.repository.consoleItem(batchId: item.batchId, position: item.position) else {
                        throw ShareRequestError.unknownItem("\(item.batchId)/\(item.position)")
                    }
                    if found.withheld { throw ShareRequestError.withheld(found.item.sha256) }
                }
            } catch let error as ShareRequestError {
                return html(.badRequest, pages.render("message", title: "400", language: language, user: user, csrf: session.csrfToken,
                                                      values: ["message": error.description]), request: request)
            }
            let now = context.clock.now()
            let token = ConsoleSignIn.randomToken()
            let share = ShareRecord(id: UUID().uuidString.lowercased(), recipient: wanted.recipient, purpose: wanted.purpose, createdBy: user.name,
                                    createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(wanted.days) * 86400),
                                    allowDownload: wanted.allowDownload, revokedAt: nil, items: wanted.items)
            try await context.repository.createShare(share, tokenHash: ConsoleSignIn.tokenHash(token))
            try await accessLog.record(.shareCreated, actor: user.name, address: address, subject: "share:\(share.id)",
                                       detail: "for \(share.recipient); \(share.items.count) item(s); \(wanted.days) day(s); download \(share.allowDownload ? "allowed" : "blocked")")
            let link = Self.sharePath + "/" + token
            return html(.created, pages.render("share-created", title: labels["shareCreated"] ?? "", language: language, user: user,
                                               csrf: session.csrfToken, values: ["link": link, "recipient": share.recipient,
                                                                                  "expires": share.expiresAt.formatted(AccessEvent.timeFormat),
                                                                                  "items": String(share.items.count)]), request: request)
        }
    }

    private func sharesPage(_ request: Request, address: String) async throws -> Response {
        try await page(request, needs: .share) { session, user, language in
            let labels = ConsoleText.table(language)
            try await accessLog.record(.viewShares, actor: user.name, address: address, subject: Self.path + "/shares")
            let now = context.clock.now()
            let rows: [[String: Any]] = try await context.repository.shares(limit: 200).map { share in
                let state = share.state(at: now)
                return ["id": share.id, "recipient": share.recipient, "purpose": share.purpose, "by": share.createdBy,
                        "created": share.createdAt.formatted(AccessEvent.timeFormat), "expires": share.expiresAt.formatted(AccessEvent.timeFormat),
                        "items": String(share.items.count), "download": share.allowDownload ? (labels["allowed"] ?? "") : (labels["blocked"] ?? ""),
                        "state": labels["shareState." + state.rawValue] ?? state.rawValue, "active": state == .active,
                        "revokeURL": "\(Self.path)/shares/\(share.id)/revoke"]
            }
            return html(.ok, pages.render("shares", title: labels["shares"] ?? "", language: language, user: user, csrf: session.csrfToken,
                                          values: ["shares": rows]), request: request)
        }
    }

    private func revokeShare(_ request: Request, _ requestContext: ServerRequestContext, address: String) async throws -> Response {
        let form = try await Self.form(request)
        return try await page(request, needs: .share) { session, user, language in
            if let refused = refusedForm(request, token: form["csrf"], session, user, language) { return refused }
            guard let id = requestContext.parameters.get("id"), Self.isBatchId(id),
                  let share = try await context.repository.revokeShare(id: id, at: context.clock.now()) else {
                return notFoundPage(request, language, user, session)
            }
            try await accessLog.record(.shareRevoked, actor: user.name, address: address, subject: "share:\(share.id)", detail: "for \(share.recipient)")
            return redirect(to: Self.path + "/shares", request: request)
        }
    }

    // MARK: Through the link

    /// The live share the path's token opens, or the answer for one that does not.
    private func openShare(_ request: Request, _ requestContext: ServerRequestContext) async throws -> Result<ShareRecord, ShareRefusal> {
        guard let token = requestContext.parameters.get("token"), ConsoleSignIn.isWellFormedToken(token),
              let share = try await context.repository.share(tokenHash: ConsoleSignIn.tokenHash(token)) else { return .failure(.unknown) }
        switch share.state(at: context.clock.now()) {
        case .active: return .success(share)
        case .expired, .revoked:
            try await accessLog.record(.shareRefused, actor: "share:\(share.id)", address: Self.address(requestContext), subject: "share:\(share.id)",
                                       detail: share.revokedAt != nil ? "revoked" : "expired")
            return .failure(share.revokedAt != nil ? .revoked : .expired)
        }
    }

    enum ShareRefusal: Error {
        case unknown, expired, revoked
    }

    private func refusal(_ refusal: ShareRefusal, _ request: Request) -> Response {
        let language = Self.language(of: request)
        let labels = ConsoleText.table(language)
        let (status, message): (HTTPResponse.Status, String?) = switch refusal {
        case .unknown: (.notFound, labels["shareUnknown"])
        case .expired: (.gone, labels["shareExpired"])
        case .revoked: (.gone, labels["shareRevoked"])
        }
        return html(status, pages.render("message", title: String(status.code), language: language, user: nil, csrf: nil,
                                         values: ["message": message ?? ""]), request: request)
    }

    /// The items a share still shows: committed, not withdrawn, not marked do-not-disclose since.
    private func sharedItems(_ share: ShareRecord) async throws -> [FoundItem] {
        var items: [FoundItem] = []
        for item in share.items {
            if let found = try await context.repository.consoleItem(batchId: item.batchId, position: item.position), !found.withheld,
               found.retentionState != .deleted {
                items.append(found)
            }
        }
        return items
    }

    private func sharedPage(_ request: Request, _ requestContext: ServerRequestContext) async throws -> Response {
        let share: ShareRecord
        switch try await openShare(request, requestContext) {
        case .failure(let refused): return refusal(refused, request)
        case .success(let open): share = open
        }
        let language = Self.language(of: request)
        let labels = ConsoleText.table(language)
        let token = requestContext.parameters.get("token") ?? ""
        let items = try await sharedItems(share)
        try await accessLog.record(.shareViewed, actor: "share:\(share.id)", address: Self.address(requestContext), subject: "share:\(share.id)",
                                   detail: "\(items.count) item(s)")
        let rows: [[String: Any]] = items.map { found in
            var row = Self.row(found, labels)
            let content = "\(Self.sharePath)/\(token)/items/\(found.batchId)/\(found.item.position)/content"
            row["contentURL"] = content
            switch Self.mediaType(of: found) {
            case "video": row["video"] = true
            case "audio": row["audio"] = true
            case "photo": row["photo"] = true
            default: row["other"] = true
            }
            return row
        }
        var response = html(.ok, pages.render("shared", title: labels["sharedEvidence"] ?? "", language: language, user: nil, csrf: nil,
                                               values: ["items": rows, "recipient": share.recipient, "purpose": share.purpose,
                                                        "expires": share.expiresAt.formatted(AccessEvent.timeFormat),
                                                        "download": share.allowDownload]), request: request)
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return response
    }

    /// An item's bytes through a share. With downloads blocked, only the share page's own
    /// players get them (the browser marks their requests `Sec-Fetch-Dest: video`, `audio` or
    /// `image`): opening the link directly or saving it is refused (403).
    private func sharedContent(_ request: Request, _ requestContext: ServerRequestContext) async throws -> Response {
        let share: ShareRecord
        switch try await openShare(request, requestContext) {
        case .failure(let refused): return refusal(refused, request)
        case .success(let open): share = open
        }
        guard let batchId = requestContext.parameters.get("batch"), Self.isBatchId(batchId),
              let positionText = requestContext.parameters.get("position"), positionText.count <= 9, let position = Int(positionText),
              share.items.contains(ShareRecord.Item(batchId: batchId, position: position)),
              let found = try await context.repository.consoleItem(batchId: batchId, position: position), !found.withheld,
              found.retentionState != .deleted else {
            return refusal(.unknown, request)
        }
        let address = Self.address(requestContext)
        if !share.allowDownload && !["video", "audio", "image"].contains(request.headers[HTTPField.Name("Sec-Fetch-Dest")!] ?? "") {
            try await accessLog.record(.shareRefused, actor: "share:\(share.id)", address: address, subject: found.item.sha256, detail: "download blocked")
            let language = Self.language(of: request)
            return html(.forbidden, pages.render("message", title: "403", language: language, user: nil, csrf: nil,
                                                 values: ["message": ConsoleText.table(language)["downloadBlocked"] ?? ""]), request: request)
        }
        return try await blobResponse(found, request: request, download: share.allowDownload) { range in
            try await accessLog.record(.sharePlayed, actor: "share:\(share.id)", address: address, subject: found.item.sha256,
                                       detail: range.map { "bytes \($0.lowerBound)-\($0.upperBound)" } ?? "whole")
        }
    }

    func notFoundPage(_ request: Request, _ language: ConsoleLanguage, _ user: ConsoleUserRecord, _ session: ConsoleSessionRecord) -> Response {
        html(.notFound, pages.render("message", title: "404", language: language, user: user, csrf: session.csrfToken,
                                     values: ["message": ConsoleText.table(language)["notFound"] ?? ""]), request: request)
    }
}
