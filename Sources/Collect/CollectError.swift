import Store

/// Why a collection stopped. Per-file problems are not errors: they are listed in the summary.
public enum CollectError: Error, Sendable, CustomStringConvertible {
    case volumeUnreadable(String, String)
    /// The store's disk filled: what was committed stays committed, nothing is half-written.
    case store(StoreError)
    case database(String)

    public var description: String {
        switch self {
        case .volumeUnreadable(let path, let reason): "cannot read the volume \(path): \(reason)"
        case .store(let error): error.description
        case .database(let reason): "evidence database: \(reason)"
        }
    }
}
