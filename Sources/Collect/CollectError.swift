import Store

/// Why a collection stopped. Per-file problems are not errors: they are listed in the summary.
public enum CollectError: Error, Sendable, CustomStringConvertible {
    case volumeUnreadable(String, String)
    /// The store's disk filled: what was committed stays committed, nothing is half-written.
    case store(StoreError)
    case database(String)
    /// Asked to stop (the station shutting down): what is durable is committed, the rest waits.
    case stopped
    /// Another fieldgate process (the station, or a `collect` typed by hand) is collecting this camera.
    case cameraBusy(serial: String)

    public var description: String {
        switch self {
        case .volumeUnreadable(let path, let reason): "cannot read the volume \(path): \(reason)"
        case .store(let error): error.description
        case .database(let reason): "evidence database: \(reason)"
        case .stopped: "stopped before the end (the gateway is shutting down); the rest is collected next time"
        case .cameraBusy(let serial): "camera \(serial) is being collected by another fieldgate process (the station?); it finishes the job"
        }
    }
}
