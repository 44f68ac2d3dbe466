import Fingerprint
import Store

/// A fingerprint pressed on a printed document, kept as evidence: the case must be known and
/// the document printed for it, before the reader is asked; a failed or timed-out capture
/// stores nothing.
public struct FingerprintJob: Sendable {
    public var caseNumber: String
    public var documentNumber: String
    public var person: String
    public var role: SignatoryRole

    public init(caseNumber: String, documentNumber: String, person: String, role: SignatoryRole) {
        self.caseNumber = caseNumber
        self.documentNumber = documentNumber
        self.person = person
        self.role = role
    }

    /// Checks what must exist before a finger is asked for.
    func checkPreconditions(store: EvidenceStore) throws {
        guard try store.enforcementCase(number: caseNumber) != nil else {
            throw PaperworkError.unknownCase(caseNumber: caseNumber, dataPath: nil)
        }
        guard !(try store.printedDocuments(caseNumber: caseNumber, documentNumber: documentNumber)).isEmpty else {
            throw PaperworkError.documentNotPrinted(document: documentNumber, caseNumber: caseNumber)
        }
    }

    /// Checks the preconditions, asks `scanner` for a finger (`willWait` first, to tell the
    /// person), and records the image.
    public func run(store: EvidenceStore, scanner: any FingerprintScanner, timeoutSeconds: Int,
                    willWait: () -> Void = {}) throws -> FingerprintCapture {
        try checkPreconditions(store: store)
        willWait()
        let image = try scanner.capture(timeoutSeconds: timeoutSeconds)
        return try store.recordFingerprint(FingerprintCapture(
            caseNumber: caseNumber, documentNumber: documentNumber, person: person, role: role,
            reader: "\(image.reader.driver): \(image.reader.name)", format: "pgm", width: image.width, height: image.height),
            image: image.pgm)
    }
}
