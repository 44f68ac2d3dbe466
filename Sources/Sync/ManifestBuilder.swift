import Foundation
import Store
import SyncProtocol

/// What the server is told of an item: its blob, descriptive fields and its custody so far.
public enum ManifestBuilder {
    /// - Parameter unit: the gateway's unit, for items whose officer names none.
    public static func item(for entry: SyncEntry, unit: String? = nil) -> ManifestItem {
        var metadata: [String: String] = [:]
        func put(_ key: String, _ value: String?) { if let value, !value.isEmpty { metadata[key] = value } }
        func time(_ date: Date?) -> String? { date?.formatted(WireCoding.timestampFormat) }
        switch entry.source {
        case .recording(let recording):
            put("camera", recording.cameraSerial)
            put("source", recording.sourceName)
            put("mediaType", recording.mediaType.rawValue)
            put("important", recording.important ? "true" : "false")
            put("collectedAt", time(recording.collectedAt))
            put("container", recording.container)
            put("durationSeconds", recording.durationSeconds.map { String(format: "%.3f", $0) })
            put("officer", recording.officerNumber)
            put("cameraStartedAt", recording.cameraStartedAt)
            put("startedAt", time(recording.correctedStartedAt))
            put("clockDriftSeconds", recording.clockDriftSeconds.map { String(Int($0.rounded())) })
            put("sequence", recording.sequence.map(String.init))
            put("flags", recording.flags.text)
            put("case", recording.caseNumber)
        case .printout(let document):
            put("case", document.caseNumber)
            put("document", document.documentNumber)
            put("template", document.template)
            put("printer", document.printerName)
            put("copies", String(document.copies))
            put("verificationId", document.verificationId)
            put("contentSha256", document.contentSha256)
            put("printedAt", time(document.printedAt))
            put("data", document.data)
        case .fingerprint(let capture):
            put("case", capture.caseNumber)
            put("document", capture.documentNumber)
            put("person", capture.person)
            put("role", capture.role.rawValue)
            put("reader", capture.reader)
            put("format", capture.format)
            put("width", String(capture.width))
            put("height", String(capture.height))
            put("capturedAt", time(capture.capturedAt))
        }
        put("unit", entry.officerUnit ?? unit)
        return ManifestItem(
            sha256: entry.item.sha256, size: entry.item.size, kind: entry.item.kind.rawValue, metadata: metadata,
            custody: entry.custody)
    }
}

extension GatewayBacklog {
    init(_ unreceipted: UnreceiptedItems, unit: String?) {
        self.init(items: unreceipted.items, bytes: unreceipted.bytes,
                  oldestRecordedAt: unreceipted.oldestRecordedAt?.formatted(WireCoding.timestampFormat), byMonth: unreceipted.byMonth,
                  unit: unit)
    }
}
