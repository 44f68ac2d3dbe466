import ArgumentParser
import AsyncHTTPClient
import CMemory
import Console
import Foundation
import Store
import Sync

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enrol this gateway with the central evidence server.",
        discussion: """
            Makes the gateway's Ed25519 signing key, presents it to the server with a one-time \
            token (from `fieldgate-server gateways add NAME` on the server), and pins the server's \
            public key: every receipt must verify against it. Enrolling again (with a new token) \
            replaces the previous enrolment.
            """)

    @Option(help: ArgumentHelp("The server's URL, e.g. https://evidence.example.gov.cn:8443.", valueName: "url"))
    var server: String

    @Option(help: ArgumentHelp("The one-time enrolment token the server's operator gave you.", valueName: "token"))
    var token: String

    @Option(name: .customLong("ca-cert"), help: ArgumentHelp(
        "For https: the certificate authority (PEM) that signed the server's certificate, when it is the bureau's own; kept for every later sync.",
        valueName: "file"))
    var caCertificate: String?

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let evidence = try store.openStore()
        var pem: String?
        if let caCertificate {
            do {
                pem = try String(contentsOfFile: caCertificate, encoding: .utf8)
            } catch {
                throw ValidationError("--ca-cert \(caCertificate): \(error.localizedDescription)")
            }
        }
        let client = try HTTPClient.forSync(caCertificatePEM: pem)
        let result: Result<SyncEnrolment, SyncError>
        do {
            result = .success(try await Enroller(store: evidence, client: client).enroll(serverURL: server, token: token, caCertificatePEM: pem))
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        let enrolment = try result.get()
        if output.json {
            print(try jsonString(EnrolmentSummary(enrolment)))
        } else {
            print("Enrolled as gateway \(enrolment.gatewayName) (\(enrolment.gatewayId)) with \(enrolment.serverURL).")
            print("Pinned server key \(enrolment.serverKeyFingerprint): receipts signed by any other key are rejected.")
        }
    }
}

/// What `enroll --json` prints: never the credential or the private key.
struct EnrolmentSummary: Codable {
    var server: String
    var gatewayId: String
    var gatewayName: String
    var serverKey: String
    var serverKeyFingerprint: String

    init(_ enrolment: SyncEnrolment) {
        server = enrolment.serverURL
        gatewayId = enrolment.gatewayId
        gatewayName = enrolment.gatewayName
        serverKey = enrolment.serverPublicKey
        serverKeyFingerprint = enrolment.serverKeyFingerprint
    }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Upload collected evidence to the central server in verified batches, and keep its receipts.",
        discussion: """
            Every item of evidence goes: recordings, printouts and fingerprints. Important \
            recordings go first, then the oldest. Each batch's manifest (hashes, \
            metadata, custody events) is signed with the gateway's key; the server answers which \
            blobs it lacks, and only those are uploaded (tus, in checksummed chunks). A killed \
            sync, a dropped connection or a restarted server resumes where it stopped, never \
            re-sending what arrived. An item counts as retained online only once a receipt signed \
            with the pinned server key names it.

            Exit status: 0 everything is receipted; 2 some items wait for a later sync (`fieldgate \
            status` says which and why); 1 error (not enrolled, credential refused, a receipt that \
            does not verify).
            """)

    @Option(name: .customLong("limit-rate"), help: ArgumentHelp("Upload at most this many bytes per second, e.g. 10M, 512k.", valueName: "rate"))
    var limitRate: String?

    @Option(name: .customLong("batch-size"), help: "Items per batch (manifest and receipt), 1 to 10000.")
    var batchSize = 100

    @Option(name: .customLong("chunk-size"), help: ArgumentHelp(
        "Bytes per upload request, each with its own checksum (64k to 256M); a blob no larger goes in one request. Larger: fewer round trips; smaller: less re-sent after a dropped connection.",
        valueName: "size"))
    var chunkSize = "16M"

    @Option(help: ArgumentHelp("Blobs uploaded at once (1 to 16), each by one request at a time.", valueName: "n"))
    var parallel = SyncOptions.defaultParallel

    @Option(help: "Tries for each request before the sync stops and leaves the rest for later.")
    var retries = 8

    @Flag(name: .customLong("retry-refused"), help: "Send again items the server refused (after their stored copy was restored).")
    var retryRefused = false

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let limitRate, RateLimiter.parseRate(limitRate) == nil { throw ValidationError("--limit-rate \(limitRate): give bytes per second, e.g. 10M or 512k") }
        guard let chunk = RateLimiter.parseRate(chunkSize), chunk >= 64 << 10, chunk <= 256 << 20 else {
            throw ValidationError("--chunk-size \(chunkSize): give 64k to 256M")
        }
        if !(1...16).contains(parallel) { throw ValidationError("--parallel \(parallel): give 1 to 16") }
        // 10,000: the most a server takes in one manifest by default (--max-items-per-batch).
        if !(1...10_000).contains(batchSize) { throw ValidationError("--batch-size must be 1 to 10000") }
        if retries < 1 { throw ValidationError("--retries must be at least 1") }
    }

    func run() async throws {
        // The HTTP client lets go of sent pieces on its own threads, a little later; glibc would
        // keep such freed blocks in per-thread arenas (and raise its mmap threshold past large
        // ones). Mapping large blocks individually returns them at once, so the gateway stays
        // near its baseline whatever the file size and parallelism.
        _ = fieldgate_return_large_blocks(1 << 20, 2)
        let evidence = try store.openStore()
        var options = SyncOptions()
        options.batchSize = batchSize
        options.limitRate = limitRate.flatMap(RateLimiter.parseRate)
        options.chunkSize = Int(RateLimiter.parseRate(chunkSize) ?? Int64(SyncOptions.defaultChunkSize))
        options.parallel = parallel
        options.retry = RetryPolicy(attempts: retries)
        options.retryRefused = retryRefused
        options.unit = try store.loadConfig().unit
        let client = try HTTPClient.forSync(try evidence.enrolment())
        let bar = ProgressBar(enabled: !output.json && isatty(STDERR_FILENO) == 1)
        let result: Result<SyncSummary, SyncError>
        do {
            result = .success(try await SyncClient(store: evidence, client: client).sync(options: options) { progress in
                bar.update(done: progress.itemsDone, total: progress.itemsTotal, unit: "items", bytesDone: progress.bytesDone,
                           bytesTotal: progress.bytesTotal)
            })
        } catch {
            result = .failure(error)
        }
        bar.finish()
        try? await client.shutdown()
        let summary = try result.get()
        if output.json {
            print(try jsonString(summary))
        } else {
            print(Self.describe(summary, status: try evidence.syncStatus()))
        }
        if !summary.isComplete { throw ExitCode(2) }
    }

    static func describe(_ summary: SyncSummary, status: SyncStatus) -> String {
        var lines = ["Synced with \(summary.server): \(summary.batches) batch(es), \(summary.receipted) item(s) receipted, "
            + "\(summary.uploaded) uploaded, \(summary.alreadyHeld) already held by the server; "
            + "\(formatBytes(summary.sentBytes)) sent in \(String(format: "%.1f", summary.seconds)) s"]
        lines.append("Retained online (网上留存率): \(status.receipted)/\(status.collected) = \(percent(status.retainedOnline))"
            + " (" + kindCounts(status) + ")")
        if summary.timestamped + summary.timestampsPending > 0 {
            lines.append("Receipts time-stamped (RFC 3161): \(summary.timestamped) now"
                + (summary.timestampsPending > 0 ? ", \(summary.timestampsPending) pending at the server's authority" : ""))
        }
        for waiting in summary.waiting.prefix(50) {
            // A reason every item shares (the server unreachable) is said once, below.
            let reason = waiting.reason == summary.stoppedBecause ? "" : ": " + waiting.reason
            lines.append("  waiting: \(waiting.source) (\(waiting.sha256.prefix(12)))" + reason)
        }
        if summary.waiting.count > 50 { lines.append("  … and \(summary.waiting.count - 50) more (`fieldgate status --json` lists them)") }
        if let reason = summary.stoppedBecause { lines.append("  not finished: \(reason)") }
        return lines.joined(separator: "\n")
    }
}

func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

struct ReceiptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipts",
        abstract: "List the server's receipts kept by this gateway, each checked again against the pinned server key.",
        discussion: "Exit status 1 if any kept receipt no longer verifies.")

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let receipts = try CheckedReceipt.all(in: try store.openStore())
        if output.json {
            print(try jsonString(receipts))
        } else if receipts.isEmpty {
            print("No receipts yet: run `fieldgate sync`.")
        } else {
            var table = TextTable("BATCH", "SERVER TIME", "ITEMS", "SIZE", "VERSION", "TIME-STAMPED (RFC 3161)", "SIGNATURE")
            for receipt in receipts {
                table.add([receipt.batchId, receipt.serverTime, String(receipt.items), formatBytes(receipt.bytes), String(receipt.version),
                           receipt.timestampedAt ?? "-", receipt.verified ? "verified" : "BAD: \(receipt.problem ?? "")"])
            }
            print(table.render())
        }
        if receipts.contains(where: { !$0.verified }) { throw ExitCode(1) }
    }
}

/// "12/12 recordings, 1/1 printouts, 1/1 fingerprints".
func kindCounts(_ status: SyncStatus) -> String {
    let names = ["recording": "recordings", "printout": "printouts", "fingerprint": "fingerprints"]
    return ["recording", "printout", "fingerprint"].compactMap { kind in
        guard let collected = status.collectedByKind[kind] else { return nil }
        return "\(status.receiptedByKind[kind] ?? 0)/\(collected) \(names[kind] ?? kind)"
    }.joined(separator: ", ")
}
