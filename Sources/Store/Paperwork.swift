import Evidence
import Foundation
import GRDB

/// A printer registered by name: a serial character device (a Bluetooth printer's
/// `/dev/rfcommN`, `/dev/usb/lpN`) or a USB printer known by its serial number.
public struct Printer: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord, StoredDates {
    public enum Transport: String, Codable, Sendable { case serial, usb }
    public static let databaseTableName = "printer"
    public var name: String
    public var transport: Transport
    /// The character device, for a serial printer.
    public var path: String?
    /// The USB serial number, for a USB printer.
    public var usbSerial: String?
    public var model: String?
    /// 58 or 80.
    public var paperWidthMillimetres: Int
    public var addedAt: Date

    public init(name: String, transport: Transport, path: String? = nil, usbSerial: String? = nil, model: String? = nil,
                paperWidthMillimetres: Int, addedAt: Date = Date()) {
        self.name = name
        self.transport = transport
        self.path = path
        self.usbSerial = usbSerial
        self.model = model
        self.paperWidthMillimetres = paperWidthMillimetres
        self.addedAt = addedAt
    }
}

/// One printout kept as evidence: the exact bytes sent to the printer are a blob, so the
/// printout can be reproduced and proven.
public struct PrintedDocument: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, StoredDates {
    public static let databaseTableName = "printedDocument"
    public var id: Int64?
    public var documentNumber: String
    public var caseNumber: String
    public var template: String
    public var printerName: String
    public var copies: Int
    /// What the printed QR code carries: the document number and the first 16 hex digits of `contentSha256`.
    public var verificationId: String
    /// SHA-256 of the document's laid-out text.
    public var contentSha256: String
    /// The input data, as JSON.
    public var data: String
    /// SHA-256 of the bytes sent (one copy), the blob's name.
    public var sha256: String
    public var size: Int64
    public var printedAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(documentNumber: String, caseNumber: String, template: String, printerName: String, copies: Int,
                verificationId: String, contentSha256: String, data: String, sha256: String = "", size: Int64 = 0,
                printedAt: Date = Date()) {
        self.documentNumber = documentNumber
        self.caseNumber = caseNumber
        self.template = template
        self.printerName = printerName
        self.copies = copies
        self.verificationId = verificationId
        self.contentSha256 = contentSha256
        self.data = data
        self.sha256 = sha256
        self.size = size
        self.printedAt = printedAt
    }
}

/// Who presses a finger on a document.
public enum SignatoryRole: String, Sendable, Codable, CaseIterable, DatabaseValueConvertible {
    /// 当事人
    case party
    /// 见证人
    case witness
}

/// A fingerprint (捺印) pressed on a document, kept losslessly as a blob.
public struct FingerprintCapture: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, StoredDates {
    public static let databaseTableName = "fingerprintCapture"
    public var id: Int64?
    public var caseNumber: String
    public var documentNumber: String
    public var person: String
    public var role: SignatoryRole
    /// The reader's libfprint driver and name.
    public var reader: String
    /// "pgm".
    public var format: String
    public var width: Int
    public var height: Int
    public var sha256: String
    public var size: Int64
    public var capturedAt: Date

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public init(caseNumber: String, documentNumber: String, person: String, role: SignatoryRole, reader: String, format: String,
                width: Int, height: Int, sha256: String = "", size: Int64 = 0, capturedAt: Date = Date()) {
        self.caseNumber = caseNumber
        self.documentNumber = documentNumber
        self.person = person
        self.role = role
        self.reader = reader
        self.format = format
        self.width = width
        self.height = height
        self.sha256 = sha256
        self.size = size
        self.capturedAt = capturedAt
    }
}

extension EvidenceStore {
    // MARK: Printers

    /// Registers a printer; fails when the name is taken.
    public func add(_ printer: Printer) throws {
        try database.write { db in try printer.insert(db) }
    }

    public func printer(named name: String) throws -> Printer? {
        try database.read { db in try Printer.fetchOne(db, key: name) }
    }

    public func printers() throws -> [Printer] {
        try database.read { db in try Printer.order(Column("name")).fetchAll(db) }
    }

    /// Removes a registered printer; false when no printer has that name. Its printouts stay.
    @discardableResult
    public func removePrinter(named name: String) throws -> Bool {
        try database.write { db in try Printer.deleteOne(db, key: name) }
    }

    public func enforcementCase(number: String) throws -> EnforcementCase? {
        try database.read { db in try EnforcementCase.fetchOne(db, key: number) }
    }

    // MARK: Printed documents and fingerprints

    /// Stores the bytes sent to the printer as a blob (durable before the row), then the
    /// printout's row and its `printed` custody event, in one transaction.
    public func recordPrinted(_ document: PrintedDocument, bytes: [UInt8]) throws -> PrintedDocument {
        let staged = try blobs.stage(bytes: bytes)
        try blobs.syncFolders([try blobs.place(staged)])
        var document = document
        document.sha256 = staged.sha256
        document.size = staged.size
        return try writeEvidence { db in
            try document.insert(db)
            try CustodyChain.append(db, kind: .printed, at: document.printedAt, sha256: staged.sha256, details: [
                "case": document.caseNumber, "document": document.documentNumber, "template": document.template,
                "printer": document.printerName, "copies": String(document.copies), "size": String(staged.size),
                "verificationId": document.verificationId, "contentSha256": document.contentSha256,
            ])
            return document
        }
    }

    public func printedDocuments(caseNumber: String? = nil, documentNumber: String? = nil) throws -> [PrintedDocument] {
        try database.read { db in
            var request = PrintedDocument.order(Column("id"))
            if let caseNumber { request = request.filter(Column("caseNumber") == caseNumber) }
            if let documentNumber { request = request.filter(Column("documentNumber") == documentNumber) }
            return try request.fetchAll(db)
        }
    }

    /// Stores a fingerprint image as a blob, then its row and its `fingerprint-captured`
    /// custody event binding it to the case and the document.
    public func recordFingerprint(_ capture: FingerprintCapture, image: [UInt8]) throws -> FingerprintCapture {
        let staged = try blobs.stage(bytes: image)
        try blobs.syncFolders([try blobs.place(staged)])
        var capture = capture
        capture.sha256 = staged.sha256
        capture.size = staged.size
        return try writeEvidence { db in
            try capture.insert(db)
            try CustodyChain.append(db, kind: .fingerprintCaptured, at: capture.capturedAt, sha256: staged.sha256, details: [
                "case": capture.caseNumber, "document": capture.documentNumber, "person": capture.person,
                "role": capture.role.rawValue, "reader": capture.reader, "format": capture.format,
                "width": String(capture.width), "height": String(capture.height), "size": String(staged.size),
            ])
            return capture
        }
    }

    public func fingerprintCaptures(caseNumber: String? = nil) throws -> [FingerprintCapture] {
        try database.read { db in
            var request = FingerprintCapture.order(Column("id"))
            if let caseNumber { request = request.filter(Column("caseNumber") == caseNumber) }
            return try request.fetchAll(db)
        }
    }
}
