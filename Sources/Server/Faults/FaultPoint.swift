import Foundation

/// The steps of the upload → complete → commit path at which a test can make the server die
/// (SIGKILL, no cleanup: as a crash or a power cut) to prove each one recovers.
///
/// Only debug builds honour it: `FIELDGATE_FAULT_POINT=<name>` kills the server the first time
/// it reaches that step, `<name>@<n>` the n-th time. A release build compiles the checks away.
public enum FaultPoint: String, CaseIterable, Sendable {
    /// The empty part file of a new upload exists; its row does not yet.
    case partCreated = "part-created"
    /// A new upload's row is stored; the creating request is not yet answered.
    case uploadCreated = "upload-created"
    /// A chunk's bytes are synced to the part file; its offset is not yet recorded.
    case chunkSynced = "chunk-synced"
    /// A chunk's new offset is recorded; the chunk is not yet acknowledged (nor, at the last
    /// chunk, the upload completed).
    case offsetRecorded = "offset-recorded"
    /// A whole upload matched its SHA-256; its part file is not yet in the blob store.
    case blobVerified = "blob-verified"
    /// The verified part file is in the blob store; the blob is not yet recorded as held.
    case blobStored = "blob-stored"
    /// The blob is recorded as held; its upload is not yet marked complete.
    case blobRecorded = "blob-recorded"
    /// The upload is marked complete; the request is not yet answered.
    case uploadCompleted = "upload-completed"
    /// A batch's receipt is signed; the commit is not yet stored.
    case receiptSigned = "receipt-signed"
    /// The commit and its receipt are stored; the receipt is not yet sent.
    case batchCommitted = "batch-committed"
    /// `migrate` moved a blob and recorded it at the target; the next is not yet read.
    case migratedBlob = "migrated-blob"

    /// The environment variable a debug build reads.
    public static let environmentVariable = "FIELDGATE_FAULT_POINT"

    /// Dies here when this is the armed step and its count is reached.
    func reach() {
        #if DEBUG
        FaultTrigger.armed.reach(self)
        #endif
    }
}

#if DEBUG
/// The step named in the environment at start, and how often it has been reached.
final class FaultTrigger: @unchecked Sendable {
    static let armed = FaultTrigger(ProcessInfo.processInfo.environment[FaultPoint.environmentVariable])

    private let point: FaultPoint?
    private let dieAt: Int
    // Guarded by `lock`.
    private let lock = NSLock()
    private var reached = 0

    init(_ setting: String?) {
        let parts = (setting ?? "").split(separator: "@", maxSplits: 1).map(String.init)
        point = parts.first.flatMap(FaultPoint.init(rawValue:))
        dieAt = parts.count > 1 ? max(1, Int(parts[1]) ?? 1) : 1
    }

    func reach(_ step: FaultPoint) {
        guard step == point else { return }
        let count = lock.withLock {
            reached += 1
            return reached
        }
        if count == dieAt {
            FileHandle.standardError.write(Data("fieldgate-server: fault point \(step.rawValue) reached (\(count)), dying\n".utf8))
            kill(getpid(), SIGKILL)
        }
    }
}
#endif
