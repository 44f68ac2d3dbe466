/// Why the evidence store refused an operation. Each names the file or thing involved.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store's disk is full: the operation stopped and nothing half-written was kept.
    case diskFull(String)
    /// The source cannot be read (permissions, I/O error, vanished).
    case unreadable(String, String)
    /// The source is not a regular file (a symlink, a device, a folder).
    case notARegularFile(String)
    case io(String, String)
    case database(String)
    /// A row names another that the store does not hold (a case, a recording, a batch):
    /// SQLite's foreign key refused it and nothing was written.
    case danglingReference(String)

    public var description: String {
        switch self {
        case .diskFull(let path): "disk full while writing \(path): free space in the store's disk and collect again (nothing was lost)"
        case .unreadable(let path, let reason): "\(path) cannot be read: \(reason)"
        case .notARegularFile(let path): "\(path) is not a regular file"
        case .io(let path, let reason): "\(path): \(reason)"
        case .database(let reason): "evidence database: \(reason)"
        case .danglingReference(let reason): "evidence database refused a row that names something it does not hold (\(reason)); nothing was written"
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
