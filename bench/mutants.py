#!/usr/bin/env python3
"""Mutation check: proves the tests bite.

Each mutant is one deliberate breakage of product code (a promise the README makes, broken
the way a careless change would break it). For each, one at a time: apply it to the working
tree, rebuild, run only the tests that guard that promise, and restore the file (also on
Ctrl-C or an error). A mutant the tests do not notice "survived": a promise without a test
that can fail. Results go to bench/out/mutants.jsonl; the exit status is 1 if any survived.

  python3 bench/mutants.py              # every mutant
  python3 bench/mutants.py csv-defuse-none sync-order-no-important   # some
  python3 bench/mutants.py --list

It first runs the guarding tests on the unmutated tree (they must pass, or a kill would mean
nothing). Needs the test command's environment (umockdev-wrapper, strace, root for the
collect-as-nobody test); it rebuilds the unmutated tree at the end.
"""
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, file, original text, broken text, tests that must catch it (swift test --filter regex).
MUTANTS = [
    ("blob-not-synced-before-rename", "Sources/Collect/CollectionRun.swift",
     "                try store.blobs.syncStaged()",
     "                _ = store.blobs",
     "PromiseCLITests/testEveryBlobIsFdatasyncedBeforeItsRename"),
    ("blob-no-syncfs", "Sources/Store/BlobStore.swift",
     "        guard fieldgate_syncfs(descriptor) == 0 else { throw StoreError.io(objects.path, errnoText()) }",
     "        guard descriptor >= 0 else { throw StoreError.io(objects.path, errnoText()) }",
     "PromiseCLITests/testEveryBlobIsFdatasyncedBeforeItsRename"),
    ("sync-order-no-important", "Sources/Store/SyncQueue/QueueSelection.swift",
     ".order(SyncItem.Columns.important.desc, SyncItem.Columns.takenAt, SyncItem.Columns.id)",
     ".order(SyncItem.Columns.takenAt, SyncItem.Columns.id)",
     "SyncEndToEndTests/testImportantRecordingsAreSyncedFirst"),
    ("sync-order-no-oldest", "Sources/Store/SyncQueue/QueueSelection.swift",
     ".order(SyncItem.Columns.important.desc, SyncItem.Columns.takenAt, SyncItem.Columns.id)",
     ".order(SyncItem.Columns.important.desc, SyncItem.Columns.id)",
     "SyncEndToEndTests/testImportantRecordingsAreSyncedFirst"),
    ("receipt-any-key", "Sources/SyncProtocol/SignedEnvelope.swift",
     "guard key.isValidSignature(signature, for: bytes) else",
     "guard !signature.isEmpty || key.isValidSignature(signature, for: bytes) else",
     "SyncEndToEndTests/testAReceiptSignedByAnotherKey"),
    ("csv-defuse-none", "Sources/fieldgate/LedgerCommands.swift",
     "\"=+-@\\t\\r\".unicodeScalars.contains(first), !isPlainNumber(value) {",
     "\"\".unicodeScalars.contains(first), !isPlainNumber(value) {",
     "PromiseCLITests/testCSVDefuses"),
    ("csv-defuse-numbers", "Sources/fieldgate/LedgerCommands.swift",
     "\"=+-@\\t\\r\".unicodeScalars.contains(first), !isPlainNumber(value) {",
     "\"=+-@\\t\\r\".unicodeScalars.contains(first) {",
     "PromiseCLITests/testCSVDefuses"),
    ("server-no-whole-blob-hash", "Sources/Server/Storage/UploadCompletion.swift",
     "guard sha256 == upload.sha256, size == upload.length else {",
     "guard size == upload.length else {",
     "TusTests/testWholeBlobMismatch|SyncEndToEndTests/testABlobTamperedInTheGatewaysStore"),
    ("server-no-chunk-checksum", "Sources/Server/Routes/UploadRoutes.swift",
     "if let checksum, let chunkHasher, chunkHasher.finalize() != checksum.digest {",
     "if let checksum, let chunkHasher, chunkHasher.finalize() != checksum.digest, checksum.digest.isEmpty {",
     "SyncEndToEndTests/testACorruptedChunk|TusTests/testHeadersAndChecksums"),
    ("custody-unchained", "Sources/Store/CustodyChain.swift",
     "previousHash: head.hash, hash: \"\")",
     "previousHash: CustodyEvent.genesisHash, hash: \"\")",
     "CollectCLITests/testCollectsADockedCamera|CameraCLITests"),
    ("rate-limit-no-wait", "Sources/Sync/RateLimiter.swift",
     "if available < 0 {",
     "if available < -burst * 1_000_000 {",
     "SyncEndToEndTests/testLimitRateCapsTheUploadRate"),
    ("backoff-constant", "Sources/Sync/RetryPolicy.swift",
     "return min(ceiling, max(ceiling / 2, jitter(ceiling / 2 ... ceiling)))",
     "return min(cap, max(cap / 2, jitter(cap / 2 ... cap)))",
     "SyncEndToEndTests/testBackoff"),
    ("audit-ignores-missing-blob", "Sources/Store/Audit.swift",
     r'problems.append(.init(kind: "missing-blob", message: "recording \(id) (\(recording.sourceName)): blob \(recording.sha256) is missing"))',
     "break",
     "PromiseCLITests/testAuditVerifyNamesAMissingBlob"),
    ("collect-no-serial-mismatch", "Sources/Collect/Collector.swift",
     "if let name, name.cameraSerial != camera.serial { flags.insert(.serialMismatch) }",
     "if let name, name.cameraSerial.isEmpty { flags.insert(.serialMismatch) }",
     "PromiseCLITests/testSerialMismatch"),
    ("collect-no-unrecognised-content", "Sources/Collect/Collector.swift",
     "if staged.size > 0 { flags.insert(.unrecognisedContent) }",
     "if staged.size < 0 { flags.insert(.unrecognisedContent) }",
     "PromiseCLITests/testSerialMismatch"),
    ("collect-exit-0-when-files-wait", "Sources/fieldgate/CollectCommand.swift",
     "if summaries.contains(where: { !$0.failed.isEmpty || $0.error != nil }) { throw ExitCode(2) }",
     "if summaries.contains(where: { $0.failed.count > $0.files }) { throw ExitCode(2) }",
     "PromiseCLITests/testAFileThatCannotBeReadNow"),
    ("free-before-receipt", "Sources/Collect/CollectionRun.swift",
     "(policy == .afterReceipt && receipted.contains(existing.id ?? -1))",
     "(policy == .afterReceipt)",
     "SyncEndToEndTests/testAfterReceiptTheNextCollect"),
    ("receipts-exit-0", "Sources/fieldgate/SyncCommands.swift",
     "if receipts.contains(where: { !$0.verified }) { throw ExitCode(1) }",
     "if receipts.isEmpty && receipts.contains(where: { !$0.verified }) { throw ExitCode(1) }",
     "SyncEndToEndTests/testReceiptsExitsOne"),
    ("retry-refused-ignored", "Sources/Sync/SyncClient.swift",
     "if options.retryRefused { try storeCall { try store.requeueRefused() } }",
     "if options.retryRefused && options.batchSize < 0 { try storeCall { try store.requeueRefused() } }",
     "SyncEndToEndTests/testRetryRefused"),
    ("watch-dies-on-sigterm", "Sources/fieldgate/WatchCommand.swift",
     "[SIGINT, SIGTERM].map",
     "[SIGINT].map",
     "PromiseCLITests/testWatchEndsCleanlyOnSIGTERM"),
    ("tus-no-resume", "Sources/Sync/TusUploader.swift",
     "if let known = try stored(sha256) {",
     "if let known = try stored(sha256), known.length < 0 {",
     "SyncEndToEndTests/testAKilledSyncResumes|SyncEndToEndTests/testAServerKilledAndRestarted"),
    ("limit-rate-not-wired", "Sources/Sync/SyncClient.swift",
     "let limiter = tracker.limiter(rate: options.limitRate, clock: options.clock)",
     "let limiter = tracker.limiter(rate: nil, clock: options.clock)",
     "SyncEndToEndTests/testLimitRateCapsTheUploadRate"),
    ("server-ignores-revocation", "Sources/Server/Auth/GatewayAuthenticator.swift",
     "guard gateway.state != .revoked else {",
     "guard gateway.state != .revoked || !gateway.name.isEmpty else {",
     "SyncEndToEndTests/testARevokedGateway|OperationsTests/testCommandLineAddsListsRevokes"),
    ("enroll-keeps-the-first", "Sources/Store/SyncQueue/BatchTransitions.swift",
     "try database.write { db in try enrolment.upsert(db) }",
     "try database.write { db in try enrolment.insert(db, onConflict: .ignore) }",
     "SyncEndToEndTests/testEnrollingAgainReplaces"),
    ("custody-updatable", "Sources/Store/Schema.swift",
     "recreateTriggersOfRebuiltTables(_ db: Database) throws {\n        try db.execute(sql: \"\"\"\n            CREATE TRIGGER custodyEventNoUpdate BEFORE UPDATE ON custodyEvent\n            BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END;",
     "recreateTriggersOfRebuiltTables(_ db: Database) throws {\n        try db.execute(sql: \"\"\"\n            CREATE TRIGGER custodyEventNoUpdate BEFORE UPDATE ON custodyEvent\n            BEGIN SELECT 1; END;",
     "EvidenceStoreTests/testCustodyEventsCannotBeChanged"),
    ("assign-without-custody-event", "Sources/Collect/CameraCollection.swift",
     "try store.record(.assigned(officer: officer.number, previousOfficer: previous), camera: serial)",
     "_ = (officer.number, previous, serial)",
     "CameraCLITests/testInfoShowsTheRecordAndAssign"),
    ("escpos-text-as-utf8", "Sources/Print/ESCPOS.swift",
     "return try ChineseEncoding.gb18030.encode(text)",
     "return try ChineseEncoding.gb18030.encode(text).isEmpty ? [] : Array(text.utf8)",
     "DocumentTests/testEveryTemplateFitsBothPapers"),
    ("escpos-full-cut", "Sources/Print/ESCPOS.swift",
     "bytes += [gs, 0x56, 66, 0]",
     "bytes += [gs, 0x56, 65, 0]",
     "DocumentTests/testEveryTemplateFitsBothPapers"),
    ("escpos-qr-model-1", "Sources/Print/ESCPOS.swift",
     "function([0x31, 0x41, 0x32, 0x00])",
     "function([0x31, 0x41, 0x31, 0x00])",
     "DocumentTests/testEveryTemplateFitsBothPapers"),
    ("escpos-title-not-bold", "Sources/Print/ESCPOS.swift",
     "bytes += [esc, 0x45, line.bold ? 1 : 0]",
     "bytes += [esc, 0x45, 0]",
     "DocumentTests/testEveryTemplateFitsBothPapers"),
]


def run(command, log, timeout):
    with open(log, "w") as output:
        try:
            return subprocess.run(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return "timeout"


def build(log):
    return run(["swift", "build", "--build-tests"], log, 3600)


def test(filter_, log):
    environment = dict(os.environ, FIELDGATE_REQUIRE_EMULATION="1")
    command = ["umockdev-wrapper", "swift", "test", "--skip-build", "--disable-swift-testing", "--filter", filter_]
    with open(log, "w") as output:
        try:
            result = subprocess.run(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, timeout=1200)
            status = result.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
    text = open(log, errors="replace").read()
    # A filter that matches nothing passes vacuously: that is no test.
    ran = "Executed 0 tests" not in text and "No matching test cases" not in text
    return status, ran


def main():
    arguments = sys.argv[1:]
    if arguments == ["--list"]:
        for name, path, *_ in MUTANTS:
            print(f"{name}\t{path}")
        return 0
    chosen = [m for m in MUTANTS if not arguments or m[0] in arguments]
    unknown = set(arguments) - {m[0] for m in MUTANTS}
    if unknown:
        print(f"unknown mutant(s): {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    out = os.path.join(ROOT, "bench", "out")
    os.makedirs(out, exist_ok=True)
    logs = os.path.join(out, "mutants")
    os.makedirs(logs, exist_ok=True)

    originals = {}

    def restore():
        for path, text in originals.items():
            with open(os.path.join(ROOT, path), "w") as file:
                file.write(text)
        originals.clear()

    def interrupted(number, _frame):
        restore()
        sys.exit(128 + number)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)

    # The guarding tests must pass on the unmutated tree, or a "kill" would mean nothing.
    if build(os.path.join(logs, "baseline.build.log")) != 0:
        print("error: the unmutated tree does not build; see bench/out/mutants/baseline.build.log", file=sys.stderr)
        return 1
    baseline, _ = test("|".join(sorted({m[4] for m in chosen})), os.path.join(logs, "baseline.test.log"))
    if baseline != 0:
        print("error: the guarding tests fail without any mutant; see bench/out/mutants/baseline.test.log", file=sys.stderr)
        return 1
    print(f"baseline: the guarding tests of {len(chosen)} mutant(s) pass unmutated", flush=True)

    results = []
    record = open(os.path.join(out, "mutants.jsonl"), "a")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        for name, path, original, broken, filter_ in chosen:
            full = os.path.join(ROOT, path)
            text = open(full).read()
            if text.count(original) != 1:
                results.append({"mutant": name, "file": path, "outcome": "stale", "detail": "original text not found once"})
                record.write(json.dumps(dict(results[-1], at=stamp)) + "\n")
                print(f"{name}: STALE (the code it breaks has changed; update bench/mutants.py)", flush=True)
                continue
            originals[path] = text
            with open(full, "w") as file:
                file.write(text.replace(original, broken))
            started = time.monotonic()
            built = build(os.path.join(logs, f"{name}.build.log"))
            if built != 0:
                outcome, detail = "did-not-build", f"build status {built}"
            else:
                status, ran = test(filter_, os.path.join(logs, f"{name}.test.log"))
                if not ran:
                    outcome, detail = "no-tests", f"the filter {filter_} matched no test"
                elif status == 0:
                    outcome, detail = "survived", f"{filter_} passed with the mutant"
                else:
                    outcome, detail = "killed", f"{filter_} failed (status {status})"
            restore()
            seconds = round(time.monotonic() - started, 1)
            results.append({"mutant": name, "file": path, "tests": filter_, "outcome": outcome, "detail": detail,
                            "seconds": seconds})
            record.write(json.dumps(dict(results[-1], at=stamp)) + "\n")
            record.flush()
            print(f"{name}: {outcome.upper()} ({detail}; {seconds} s)", flush=True)
    finally:
        restore()
        record.close()
    rebuilt = build(os.path.join(logs, "restored.build.log"))
    killed = sum(r["outcome"] == "killed" for r in results)
    print(f"{killed} of {len(results)} mutants killed"
          + "".join(f"\n  {r['outcome']}: {r['mutant']} ({r['detail']})" for r in results if r["outcome"] != "killed"))
    if rebuilt != 0:
        print("error: the restored tree did not build; see bench/out/mutants/restored.build.log", file=sys.stderr)
        return 1
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
