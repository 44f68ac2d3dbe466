import ArgumentParser
import AsyncHTTPClient
import Console
import Foundation
import NIOCore
import Station

/// `status --watch`: the station's /api/status, redrawn in the terminal.
struct StationWatch {
    let url: String
    let count: Int?
    let interval: Double
    let json: Bool

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let result: Result<Void, any Error>
        do {
            try await follow(client)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        try result.get()
    }

    private func follow(_ client: HTTPClient) async throws {
        let endpoint = (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/api/status"
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let redraw = !json && isatty(STDOUT_FILENO) == 1
        var shown = 0
        while count.map({ shown < $0 }) ?? true {
            let body: ByteBuffer
            do {
                let response = try await client.execute(HTTPClientRequest(url: endpoint), timeout: .seconds(5))
                guard response.status == .ok else { throw StationWatchError.noStation(url, "answered \(response.status.code)") }
                body = try await response.body.collect(upTo: 16 << 20)
            } catch let error as StationWatchError {
                throw error
            } catch {
                throw StationWatchError.noStation(url, "\(error)")
            }
            if json {
                emitLine(String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines))
            } else {
                let status = try decoder.decode(StationStatus.self, from: Data(buffer: body))
                emitLine((redraw ? "\u{1B}[H\u{1B}[2J" : "") + Self.render(status))
            }
            shown += 1
            if count.map({ shown >= $0 }) ?? false { break }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    static func render(_ status: StationStatus) -> String {
        var lines: [String] = []
        if status.bays.isEmpty {
            lines.append("No camera docked.")
        } else {
            var table = TextTable("BAY", "STATE", "FILES", "DATA", "RATE", "OFFICER", "BATTERY", "DETAIL")
            for bay in status.bays {
                let state = bay.state.rawValue + (bay.docked ? "" : " (undocked)")
                let rate = bay.bytesPerSecond.map { formatBytes(Int64($0)) + "/s" } ?? ""
                let detail = [bay.reason, bay.nextStep.map { "next: " + $0 }].compactMap { $0 }.joined(separator: "; ")
                table.add([bay.serial, state, bay.filesTotal > 0 ? "\(bay.filesDone)/\(bay.filesTotal)" : "",
                           bay.bytesTotal > 0 ? "\(formatBytes(bay.bytesDone))/\(formatBytes(bay.bytesTotal))" : "", rate,
                           [bay.officer, bay.officerName].compactMap { $0 }.joined(separator: " "), bay.battery.map { "\($0)%" } ?? "",
                           sanitized(detail)])
            }
            lines.append(table.render())
        }
        let sync = status.sync
        let server = !sync.enrolled ? "not enrolled" : sync.serverReachable == true ? "server reachable"
            : sync.serverReachable == false ? "server unreachable" : "server not yet asked"
        lines.append("")
        lines.append("Sync: \(sync.pending) waiting, \(sync.uploading) uploading, \(sync.receipted) receipted; "
            + "retained online (网上留存率) \(sync.receipted)/\(sync.collected) = \(percent(sync.retainedOnlineRate)); \(server)"
            + (sync.inUploadWindow ? "" : "; outside the upload window"))
        lines.append("Disk: \(formatBytes(status.disk.freeBytes)) free of \(formatBytes(status.disk.totalBytes))")
        for warning in status.warnings { lines.append("warning: " + warning) }
        return lines.joined(separator: "\n")
    }
}

enum StationWatchError: Error, CustomStringConvertible {
    case noStation(String, String)

    var description: String {
        switch self {
        case .noStation(let url, let reason):
            "no station answers at \(url) (\(reason)): is `fieldgate station` running (`systemctl status fieldgate-station`)? Give its address with --station"
        }
    }
}
