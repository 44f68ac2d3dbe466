import Evidence
import Foundation
import GRDB

/// Why recordings could not be bound to a case; nothing was bound.
public enum CaseBindingError: Error, Equatable, CustomStringConvertible {
    case unknownCase(String)
    case unknownRecordings([Int64])
    case boundElsewhere(recording: Int64, caseNumber: String)

    public var description: String {
        switch self {
        case .unknownCase(let number): "no case \(number) at this gateway: load it first with `fieldgate cases import FILE.csv`"
        case .unknownRecordings(let ids): "no recording \(ids.map(String.init).joined(separator: ", ")) in the store (`fieldgate list` shows them)"
        case .boundElsewhere(let recording, let number):
            "recording \(recording) is bound to case \(number) already: a recording belongs to one case"
        }
    }
}

extension EvidenceStore {
    /// Binds recordings to a known case, each with a `case-bound` custody event, all or none.
    /// A recording bound to this case already is left as it is (no second event); the answer
    /// is the recordings newly bound.
    @discardableResult
    public func bind(recordings ids: [Int64], toCase number: String, at date: Date = Date()) throws -> [Int64] {
        try database.write { db in
            guard try EnforcementCase.fetchOne(db, key: number) != nil else { throw CaseBindingError.unknownCase(number) }
            let recordings = try Recording.fetchAll(db, keys: ids)
            let missing = ids.filter { id in !recordings.contains { $0.id == id } }
            guard missing.isEmpty else { throw CaseBindingError.unknownRecordings(missing) }
            if let other = recordings.first(where: { $0.caseNumber != nil && $0.caseNumber != number }), let id = other.id {
                throw CaseBindingError.boundElsewhere(recording: id, caseNumber: other.caseNumber ?? "")
            }
            var chain = try CustodyChain.Appender(db)
            var bound: [Int64] = []
            for recording in recordings where recording.caseNumber == nil {
                guard let id = recording.id else { continue }
                try db.execute(sql: "UPDATE recording SET caseNumber = ? WHERE id = ?", arguments: [number, id])
                try chain.append(kind: .caseBound, at: date, camera: recording.cameraSerial, recordingId: id, sha256: recording.sha256,
                                 details: ["case": number])
                bound.append(id)
            }
            return bound
        }
    }
}
