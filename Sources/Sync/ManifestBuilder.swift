import Foundation
import Store
import SyncProtocol

/// What the server is told of a recording: its blob, descriptive fields and its custody so far.
enum ManifestBuilder {
    static func item(for recording: Recording, custody: [CustodyEvent]) -> ManifestItem {
        var metadata: [String: String] = [
            "camera": recording.cameraSerial,
            "source": recording.sourceName,
            "mediaType": recording.mediaType,
            "important": recording.important ? "true" : "false",
            "collectedAt": recording.collectedAt.formatted(WireCoding.timestampFormat),
        ]
        func put(_ key: String, _ value: String?) { if let value, !value.isEmpty { metadata[key] = value } }
        put("container", recording.container)
        put("durationSeconds", recording.durationSeconds.map { String(format: "%.3f", $0) })
        put("officer", recording.officerNumber)
        put("cameraStartedAt", recording.cameraStartedAt)
        put("startedAt", recording.correctedStartedAt?.formatted(WireCoding.timestampFormat))
        put("clockDriftSeconds", recording.clockDriftSeconds.map { String(Int($0.rounded())) })
        put("sequence", recording.sequence.map(String.init))
        put("flags", recording.flags)
        return ManifestItem(
            sha256: recording.sha256, size: recording.size, kind: "recording", metadata: metadata,
            custody: custody.map {
                CustodyRecord(seq: $0.seq, at: $0.at, kind: $0.kind, cameraSerial: $0.cameraSerial, recordingId: $0.recordingId,
                              sha256: $0.sha256, details: $0.details, previousHash: $0.previousHash, hash: $0.hash)
            })
    }
}
