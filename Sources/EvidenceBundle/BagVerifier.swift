import Common
import Crypto
import Evidence
import Foundation

/// Why a bag does not verify; the first problem found, naming the file.
public enum BagCheckError: Error, Equatable, CustomStringConvertible {
    case notABag(String)
    case unsafePath(String)
    case missing(String)
    case changed(String)
    case unlisted(String)
    case notARegularFile(String)
    case unreadable(String, String)
    case malformed(String, String)
    case badSignature(String, key: String)
    case brokenCustody(item: String, seq: Int64)
    case itemMismatch(String, String)

    public var description: String {
        switch self {
        case .notABag(let reason): "not an evidence bundle: \(reason)"
        case .unsafePath(let path): "the bundle names a path outside itself or not plain (\(path)): refused"
        case .missing(let path): "\(path) is missing from the bundle"
        case .changed(let path): "\(path) has been changed: its SHA-256 is not the one its manifest lists"
        case .unlisted(let path): "\(path) is not listed in the bundle's manifests (added after the export)"
        case .notARegularFile(let path): "\(path) is not a regular file (links and devices are refused)"
        case .unreadable(let path, let reason): "\(path) cannot be read: \(reason)"
        case .malformed(let path, let reason): "\(path) is malformed: \(reason)"
        case .badSignature(let path, let key): "\(path): its signature does not verify with the key in \(key)"
        case .brokenCustody(let item, let seq): "\(item): custody event \(seq) does not hash to the hash it carries"
        case .itemMismatch(let item, let reason): "\(item): \(reason)"
        }
    }
}

/// A bag whose every check passed: both manifests, the exporter's signature, each item's file
/// and each custody event's own hash.
public struct VerifiedBag {
    public struct Item {
        public var label: String
        public var kind: String
        public var sha256: String
        public var size: Int64
        /// The item's file in the bag; nil when the exporter did not hold its content.
        public var file: URL?
        public var metadata: [String: String]
        public var custody: [CustodyEvent]
    }

    public var root: URL
    public var bundleId: String
    public var exportedAt: String
    /// "gateway" or "server".
    public var exportedBy: String
    public var gatewayId: String?
    public var gatewayName: String?
    public var signerKey: Curve25519.Signing.PublicKey
    /// `tagmanifest-sha256.txt` exactly as signed, and the raw signature.
    public var tagManifest: Data
    public var tagSignature: Data
    public var items: [Item]
}

/// Checks a bag as `verify.sh` does, in-process, before anything of it is trusted: nothing in it
/// is run, no link is followed, and every path must be a plain relative one inside the bag.
public enum BagVerifier {
    public static func verify(_ root: URL) throws(BagCheckError) -> VerifiedBag {
        let bagit = try read(root, "bagit.txt")
        guard String(decoding: bagit, as: UTF8.self).contains("BagIt-Version: 1.0") else {
            throw .notABag("bagit.txt does not say BagIt-Version: 1.0")
        }
        let tagManifest = try read(root, "tagmanifest-sha256.txt")
        let tagEntries = try entries(of: tagManifest, in: "tagmanifest-sha256.txt")
        for required in ["bagit.txt", "bag-info.txt", "manifest-sha256.txt"] where !tagEntries.contains(where: { $0.path == required }) {
            throw .malformed("tagmanifest-sha256.txt", "it does not list \(required)")
        }
        for entry in tagEntries { try check(root, entry) }
        let payloadEntries = try entries(of: try read(root, "manifest-sha256.txt"), in: "manifest-sha256.txt")
        guard payloadEntries.allSatisfy({ $0.path.hasPrefix("data/") }) else {
            throw .malformed("manifest-sha256.txt", "it lists a file outside data/")
        }
        for entry in payloadEntries { try check(root, entry) }
        let listed = Set(payloadEntries.map(\.path))
        for file in try regularFiles(under: root.appendingPathComponent("data"), named: "data") where !listed.contains(file) {
            throw .unlisted(file)
        }

        let document: ItemsDocument
        do {
            document = try JSONDecoder().decode(ItemsDocument.self, from: try read(root, "data/items.json"))
        } catch let error as BagCheckError {
            throw error
        } catch {
            throw .malformed("data/items.json", "\(error)")
        }
        let keyPath = switch document.exportedBy {
        case "gateway": "data/keys/gateway.pem"
        case "server": "data/keys/server.pem"
        default: throw BagCheckError.malformed("data/items.json", "exportedBy is \"\(document.exportedBy)\", not gateway or server")
        }
        guard listed.contains(keyPath) else { throw .missing(keyPath) }
        let signerKey = try publicKey(root, keyPath)
        let signature = try read(root, "tagmanifest-sha256.txt.sig")
        guard signerKey.isValidSignature(signature, for: tagManifest) else { throw .badSignature("tagmanifest-sha256.txt", key: keyPath) }

        let payloadHashes = Dictionary(payloadEntries.map { ($0.path, $0.sha256) }, uniquingKeysWith: { first, _ in first })
        var items: [VerifiedBag.Item] = []
        for item in document.items {
            guard isSHA256(item.sha256), item.size >= 0 else { throw .itemMismatch(item.id, "its SHA-256 or size is not valid") }
            var file: URL?
            if let path = item.file {
                guard path.hasPrefix("data/items/\(item.sha256).") else { throw .itemMismatch(item.id, "its file \(path) is not named by its SHA-256") }
                guard let listedHash = payloadHashes[path] else { throw .missing(path) }
                guard listedHash == item.sha256 else { throw .itemMismatch(item.id, "its file \(path) is listed with another SHA-256") }
                var status = stat()
                guard lstat(root.appendingPathComponent(path).path, &status) == 0, Int64(status.st_size) == item.size else {
                    throw .itemMismatch(item.id, "it declares \(item.size) bytes, its file \(path) has \(status.st_size)")
                }
                file = root.appendingPathComponent(path)
            }
            for event in item.custody where event.computedHash() != event.hash {
                throw .brokenCustody(item: item.id, seq: event.seq)
            }
            items.append(VerifiedBag.Item(label: item.id, kind: item.kind, sha256: item.sha256, size: item.size, file: file,
                                          metadata: item.metadata, custody: item.custody))
        }
        return VerifiedBag(root: root, bundleId: document.bundleId, exportedAt: document.exportedAt, exportedBy: document.exportedBy,
                           gatewayId: document.gatewayId, gatewayName: document.gatewayName, signerKey: signerKey,
                           tagManifest: tagManifest, tagSignature: signature, items: items)
    }

    // MARK: Pieces

    struct Entry {
        var sha256: String
        var path: String
    }

    /// The lines of a BagIt manifest, `<sha256>  <path>`; each path plain and inside the bag.
    static func entries(of manifest: Data, in name: String) throws(BagCheckError) -> [Entry] {
        guard let text = String(validating: manifest, as: UTF8.self) else { throw .malformed(name, "it is not UTF-8") }
        var entries: [Entry] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, isSHA256(String(parts[0])), parts[1].hasPrefix(" ") else {
                throw .malformed(name, "a line is not \"<sha256>  <path>\": \(line.prefix(120))")
            }
            let path = String(parts[1].dropFirst())
            guard isPlain(path) else { throw .unsafePath(path) }
            entries.append(Entry(sha256: String(parts[0]), path: path))
        }
        return entries
    }

    /// A relative path of named components: no `..`, `.`, empty part, leading `/`, backslash or control character.
    static func isPlain(_ path: String) -> Bool {
        guard !path.isEmpty, path.utf8.count <= 4096, !path.hasPrefix("/"),
              !path.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || $0 == "\\" }) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A regular file of the bag (never through a link), whole; for the small tag files and keys.
    static func read(_ root: URL, _ path: String) throws(BagCheckError) -> Data {
        let url = root.appendingPathComponent(path)
        var status = stat()
        guard lstat(url.path, &status) == 0 else { throw errno == ENOENT ? .missing(path) : .unreadable(path, String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .notARegularFile(path) }
        guard status.st_size <= 256 << 20 else { throw .malformed(path, "it is larger than a bag's tag file can be") }
        do { return try Data(contentsOf: url) } catch { throw .unreadable(path, error.localizedDescription) }
    }

    /// Streams the file, checking it against its listed SHA-256.
    static func check(_ root: URL, _ entry: Entry) throws(BagCheckError) {
        let url = root.appendingPathComponent(entry.path)
        var status = stat()
        guard lstat(url.path, &status) == 0 else { throw .missing(entry.path) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .notARegularFile(entry.path) }
        do {
            let reader = try ChunkedReader(path: url.path)
            while try reader.next() != nil {}
            do { try reader.finish(expecting: entry.sha256) } catch { throw BagCheckError.changed(entry.path) }
        } catch let error as BagCheckError {
            throw error
        } catch {
            throw .unreadable(entry.path, "\(error)")
        }
    }

    /// Every regular file under `folder`, as bag paths; a link or device anywhere is refused.
    static func regularFiles(under folder: URL, named name: String) throws(BagCheckError) -> [String] {
        let children: [String]
        do { children = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw .unreadable(name, error.localizedDescription)
        }
        var files: [String] = []
        for child in children.sorted() {
            let path = name + "/" + child
            var status = stat()
            guard lstat(folder.appendingPathComponent(child).path, &status) == 0 else { throw .unreadable(path, String(cString: strerror(errno))) }
            switch status.st_mode & S_IFMT {
            case S_IFREG: files.append(path)
            case S_IFDIR: files += try regularFiles(under: folder.appendingPathComponent(child), named: path)
            default: throw .notARegularFile(path)
            }
        }
        return files
    }

    /// An Ed25519 SubjectPublicKeyInfo in PEM, as the bag carries its keys.
    static func publicKey(_ root: URL, _ path: String) throws(BagCheckError) -> Curve25519.Signing.PublicKey {
        let text = String(decoding: try read(root, path), as: UTF8.self)
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard text.contains("-----BEGIN PUBLIC KEY-----"), let der = Data(base64Encoded: body), der.count == 44,
              Array(der.prefix(12)) == PublicKeyPEM.ed25519Prefix,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32)) else {
            throw .malformed(path, "it is not an Ed25519 public key in PEM")
        }
        return key
    }
}
