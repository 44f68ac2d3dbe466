/// Why an export stopped; nothing it wrote is left behind as a bundle.
public enum BundleError: Error, Equatable, CustomStringConvertible {
    case io(String, String)
    case diskFull(String)
    case destinationInUse(String)
    /// The stored copy no longer hashes to its name: `fieldgate audit verify` says more.
    case damagedBlob(sha256: String, path: String, actual: String)
    case missingBlob(sha256: String, path: String)
    case nothingSelected(String)
    case unknownItems([String])
    case notEnrolled
    case pathTooLong(String)
    case store(String)

    public var description: String {
        switch self {
        case .io(let path, let reason): "\(path): \(reason)"
        case .diskFull(let path): "disk full while writing \(path): free space there, or export to another disk"
        case .destinationInUse(let path): "\(path) exists and is not empty: give a new folder or .tar file"
        case .damagedBlob(let sha256, let path, let actual):
            "the stored copy \(path) of \(sha256) hashes to \(actual): run `fieldgate audit verify`; the bundle was not made"
        case .missingBlob(let sha256, let path):
            "the stored copy of \(sha256) (\(path)) is gone (freed after its receipt?): export it from the server instead"
        case .nothingSelected(let selection): "nothing selected by \(selection)"
        case .unknownItems(let names): "no such item(s) in the store: \(names.joined(separator: ", "))"
        case .notEnrolled: "this gateway has no signing key yet: enrol it with the server (`fieldgate enroll`) before exporting"
        case .pathTooLong(let path): "\(path) is too long for a tar archive: give a shorter name"
        case .store(let reason): reason
        }
    }
}
