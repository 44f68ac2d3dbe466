import Common
import Foundation

/// `index.html`: a printable account of the bundle, readable offline (no scripts, no links out).
enum IndexPage {
    static func html(_ document: ItemsDocument, context: BagContext) -> String {
        let rows = document.items.map(itemRow).joined()
        let gatewayNames = Dictionary((document.gateways ?? []).map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        let timelines = document.items.map(custodyTimeline).joined()
        let batches = document.batches.map { batch in
            "<tr><td>\(escape(batch.batchKey))</td><td>\(escape(gatewayNames[batch.gatewayId ?? ""] ?? document.gatewayName ?? "—"))</td><td>\(escape(batch.serverBatchId ?? "—"))</td><td>\(escape(batch.manifest ?? "—"))</td>"
                + "<td>\(escape(batch.receipt ?? "not receipted"))</td><td>\(batch.receiptVersion.map(String.init) ?? "—")</td>"
                + "<td>\(escape(batch.serverTime ?? "—"))</td><td>\(escape(batch.timestampedAt ?? "—"))</td></tr>\n"
        }.joined()
        let keys = document.keys.sorted { $0.key < $1.key }.map { "<tr><td>\(escape($0.key))</td><td><code>\(escape($0.value))</code></td></tr>\n" }
            .joined()
        return """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><title>Evidence bundle \(escape(document.bundleId))</title>
            <style>
            body { font-family: sans-serif; font-size: 11pt; margin: 2em; }
            table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }
            th, td { border: 1px solid #999; padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
            code { font-size: 9pt; word-break: break-all; }
            .receipted { color: #060; } .signed-by-gateway { color: #960; } .exported-only { color: #a00; }
            @media print { body { margin: 0; } h2 { page-break-before: auto; } tr { page-break-inside: avoid; } }
            </style></head><body>
            <h1>Evidence bundle</h1>
            <p>Bundle \(escape(document.bundleId)), exported \(escape(document.exportedAt)) by \(escape(context.exporterDescription))
            of \(escape(context.organisation)); server \(escape(document.server)).<br>
            Selection: \(escape(document.selection)). \(document.items.count) item(s).
            Check it with <code>sh verify.sh</code> (see VERIFY.md).</p>
            <h2>Items</h2>
            <table><tr><th>Item</th><th>Kind</th><th>Officer</th><th>Camera</th><th>Case</th><th>Taken (UTC)</th><th>Flags</th>
            <th>Standing</th><th>File / SHA-256</th></tr>
            \(rows)</table>
            <h2>Custody</h2>
            \(timelines)
            <h2>Manifests and receipts</h2>
            <table><tr><th>Batch key</th><th>Gateway</th><th>Server batch</th><th>Signed manifest</th><th>Receipt</th><th>Version</th><th>Server time</th><th>Time-stamped (RFC 3161)</th></tr>
            \(batches)</table>
            <h2>Keys</h2>
            <table><tr><th>Key</th><th>SHA-256 fingerprint (compare with the published one)</th></tr>
            \(keys)</table>
            </body></html>

            """
    }

    static func itemRow(_ item: ItemsDocument.Item) -> String {
        let metadata = item.metadata
        let taken = metadata["startedAt"] ?? metadata["printedAt"] ?? metadata["capturedAt"] ?? metadata["cameraStartedAt"] ?? "—"
        let standing = switch item.standing {
        case .receipted: "receipted by the server"
        case .signedByGateway: "signed by the gateway only"
        case .exportedOnly: "not yet sent to the server"
        }
        let file = item.file.map { "\(escape($0))" } ?? "content not in this bundle (held by the server)"
        return "<tr><td>\(escape(item.id))</td><td>\(escape(item.kind))</td><td>\(escape(metadata["officer"] ?? metadata["person"] ?? "—"))</td>"
            + "<td>\(escape(metadata["camera"] ?? "—"))</td><td>\(escape(metadata["case"] ?? "—"))</td><td>\(escape(taken))</td>"
            + "<td>\(escape(metadata["flags"] ?? ""))</td><td class=\"\(item.standing.rawValue)\">\(standing)</td>"
            + "<td>\(file)<br><code>\(item.sha256)</code></td></tr>\n"
    }

    static func custodyTimeline(_ item: ItemsDocument.Item) -> String {
        let events = item.custody.map { event in
            "<tr><td>\(event.seq)</td><td>\(escape(event.at))</td><td>\(escape(event.kind.rawValue))</td>"
                + "<td><code>\(escape(event.details))</code></td><td><code>\(escape(event.hash))</code></td></tr>\n"
        }.joined()
        return "<h3>\(escape(item.id)) <code>\(item.sha256)</code></h3>\n"
            + "<table><tr><th>#</th><th>At (UTC)</th><th>Event</th><th>Details</th><th>Hash</th></tr>\n\(events)</table>\n"
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
