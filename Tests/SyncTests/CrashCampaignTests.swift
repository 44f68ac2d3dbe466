import Foundation
import GRDB
import Store
import TestSupport
import XCTest

/// SIGKILL at random moments, ≥ 100 times, of the server or of the gateway, while several large
/// files and many small ones sync. After the campaign one more sync finishes; every item is
/// receipted exactly once; at most one chunk per upload in flight is re-sent per kill. The
/// figures (kills, items, bytes re-sent, time to recover) are printed for the closing note.
extension SyncEndToEndTests {
    /// Kills per campaign: `FIELDGATE_CAMPAIGN_KILLS`, else 100.
    var campaignKills: Int { ProcessInfo.processInfo.environment["FIELDGATE_CAMPAIGN_KILLS"].flatMap(Int.init) ?? 100 }
    /// 4 MiB chunks at 8 MiB/s, which the gateway sends in 1 MiB pieces as the rate allows: a
    /// kill lands mid-chunk as often as between chunks.
    static let campaignChunk = 4 << 20
    static let campaignParallel = 4
    var campaignSyncArguments: [String] {
        ["--chunk-size", "4M", "--parallel", String(Self.campaignParallel), "--limit-rate", "8M"]
    }

    /// Two 12 MiB recordings and twenty small ones, a new camera each time.
    func collectCampaignSet(_ number: Int) throws -> Int64 {
        try collectRandomFiles([12 << 20, 12 << 20] + (0..<20).map { 1000 + $0 * 1500 }, serial: "C\(String(format: "%06d", number))")
    }

    /// What the gateway has got done so far: any change is progress.
    func gatewayProgress(_ store: EvidenceStore) throws -> [Int64] {
        try store.database.read { db in
            [try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(offset), 0) FROM syncUpload") ?? 0,
             try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM syncItem WHERE state IN ('uploaded', 'receipted')") ?? 0]
        }
    }

    func backlogIsEmpty(_ store: EvidenceStore) throws -> Bool {
        let status = try store.syncStatus()
        return status.pending + status.uploading + status.uploaded == 0
    }

    func testTheServerKilledAtRandomMomentsWhileSyncingRecovers() throws {
        try enroll()
        let store = try EvidenceStore(home: home)
        let port = server.port
        var total: Int64 = 0, sets = 0, received = 0.0
        var recoveries: [Double] = []
        var sync: Process?
        let started = Date()
        for _ in 0..<campaignKills {
            if try backlogIsEmpty(store) {
                total += try collectCampaignSet(sets)
                sets += 1
            }
            if sync?.isRunning != true { sync = try startSync(campaignSyncArguments) }
            Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.6))
            // The gateway held still for a moment, so that the count read is every byte the
            // server got before it dies (mid-chunk or not: the gateway stopped wherever it was).
            if let running = sync, running.isRunning { kill(running.processIdentifier, SIGSTOP) }
            Thread.sleep(forTimeInterval: 0.05)
            received += try server.metric("fieldgate_upload_bytes_received_total")
            server.kill()
            if let running = sync, running.isRunning { kill(running.processIdentifier, SIGCONT) }
            let before = try gatewayProgress(store)
            try server.start(port: port)
            let restarted = Date()
            // Time to recover: from the server back until the gateway gets something done again.
            while sync?.isRunning == true, try gatewayProgress(store) == before, Date().timeIntervalSince(restarted) < 20 {
                Thread.sleep(forTimeInterval: 0.01)
            }
            if try gatewayProgress(store) != before { recoveries.append(Date().timeIntervalSince(restarted)) }
        }
        if let sync { XCTAssertTrue(wait(for: sync, timeout: 180)) }
        let finalStart = Date()
        let last = try fieldgate(["sync", "--json"])
        XCTAssertEqual(last.status, 0, last.stdout + last.stderr)
        let finalSeconds = Date().timeIntervalSince(finalStart)
        received += try server.metric("fieldgate_upload_bytes_received_total")
        try assertEverythingReceiptedOnceAndStored()
        let resent = received - Double(total)
        XCTAssertGreaterThanOrEqual(resent, 0)
        XCTAssertLessThanOrEqual(resent, Double(campaignKills * Self.campaignParallel * Self.campaignChunk),
                                 "at most one chunk per upload in flight re-sent per kill")
        let items = try store.recordings().count
        report("server", kills: campaignKills, items: items, bytes: total, resent: resent, recoveries: recoveries,
               finalSeconds: finalSeconds, wall: Date().timeIntervalSince(started))
    }

    func testTheGatewayKilledAtRandomMomentsWhileSyncingRecovers() throws {
        try enroll()
        let store = try EvidenceStore(home: home)
        var total: Int64 = 0, sets = 0, kills = 0, tries = 0
        var recoveries: [Double] = []
        let started = Date()
        while kills < campaignKills && tries < campaignKills * 3 {
            tries += 1
            if try backlogIsEmpty(store) {
                total += try collectCampaignSet(sets)
                sets += 1
            }
            let before = try gatewayProgress(store)
            let launched = Date()
            let sync = try startSync(campaignSyncArguments)
            // Time to recover: from the new sync's start until it gets something done.
            var recovered: Double?
            let lifetime = Double.random(in: 0.1...0.8)
            while sync.isRunning && Date().timeIntervalSince(launched) < lifetime {
                if recovered == nil, try gatewayProgress(store) != before { recovered = Date().timeIntervalSince(launched) }
                Thread.sleep(forTimeInterval: 0.01)
            }
            if let recovered { recoveries.append(recovered) }
            guard sync.isRunning else { continue }
            kill(sync.processIdentifier, SIGKILL)
            sync.waitUntilExit()
            kills += 1
        }
        XCTAssertGreaterThanOrEqual(kills, campaignKills, "the syncs were killed mid-way, not left to finish")
        let finalStart = Date()
        let last = try fieldgate(["sync", "--json"])
        XCTAssertEqual(last.status, 0, last.stdout + last.stderr)
        let finalSeconds = Date().timeIntervalSince(finalStart)
        try assertEverythingReceiptedOnceAndStored()
        let resent = try server.metric("fieldgate_upload_bytes_received_total") - Double(total)
        XCTAssertGreaterThanOrEqual(resent, 0)
        XCTAssertLessThanOrEqual(resent, Double(kills * Self.campaignParallel * Self.campaignChunk),
                                 "at most one chunk per upload in flight re-sent per kill")
        report("gateway", kills: kills, items: try store.recordings().count, bytes: total, resent: resent, recoveries: recoveries,
               finalSeconds: finalSeconds, wall: Date().timeIntervalSince(started))
    }

    private func report(_ victim: String, kills: Int, items: Int, bytes: Int64, resent: Double, recoveries: [Double],
                        finalSeconds: Double, wall: Double) {
        let sorted = recoveries.sorted()
        func quantile(_ q: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        print(String(format: "campaign %@: %d kills, %d items, %.1f MiB, re-sent %.2f MiB (%.3f MiB per kill), recovery median %.2f s p90 %.2f s max %.2f s (%d measured), final sync %.2f s, wall %.0f s",
                     victim, kills, items, Double(bytes) / 1048576, resent / 1048576, resent / 1048576 / Double(max(1, kills)),
                     quantile(0.5), quantile(0.9), sorted.last ?? .nan, sorted.count, finalSeconds, wall))
    }
}
