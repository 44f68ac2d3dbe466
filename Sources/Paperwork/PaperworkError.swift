/// Why paperwork was not done; nothing is printed or recorded when one is thrown.
public enum PaperworkError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadableData(path: String, template: String)
    case unknownCase(caseNumber: String, dataPath: String?)
    case documentNotPrinted(document: String, caseNumber: String)
    case noSuchPrinter(name: String, attachedUSBSerials: [String])
    case unwritablePreview(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableData(let path, let template):
            "\(path): cannot be read; give the document's data as a JSON file (see seeds/documents/\(template).json)"
        case .unknownCase(let caseNumber, let dataPath?):
            "case \(caseNumber) (caseNumber in \(dataPath)) is not in the store: import it first (`fieldgate cases import FILE.csv`); nothing was printed"
        case .unknownCase(let caseNumber, nil):
            "case \(caseNumber) is not in the store: import it first (`fieldgate cases import FILE.csv`); nothing was captured"
        case .documentNotPrinted(let document, let caseNumber):
            "document \(document) has not been printed for case \(caseNumber): print it first (`fieldgate print`); nothing was captured"
        case .noSuchPrinter(let name, let serials):
            "no printer named \(name): register it (`fieldgate printers add \(name) --path /dev/rfcomm0` for a Bluetooth printer, `--usb SERIAL` for a USB one)"
                + (serials.isEmpty ? "; no USB printer is attached now" : ", or name a USB printer attached now by its serial: \(serials.joined(separator: ", "))")
        case .unwritablePreview(let path, let reason):
            "\(path): cannot write the preview: \(reason)"
        }
    }
}
