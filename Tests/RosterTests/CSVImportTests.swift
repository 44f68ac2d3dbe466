import Roster
import Store
import XCTest

/// Officers and cases from the unit's CSV files, below the CLI: every bad line named at once,
/// nothing loaded when any is bad.
final class CSVImportTests: XCTestCase {
    func testOfficersAreParsedWithQuotesABOMAndEmptyOptionalFields() throws {
        let text = "\u{FEFF}number,name,certificate_number,certificate_status,certificate_expires,unit\r\n"
            + "010203,张伟,33010020190001,valid,2027-12-31,\"一中队, 东区\"\r\n"
            + "020304,\"李\"\"娜\",33010020200017,revoked,,\n\n"
        let officers = try OfficerCSV.parse(text, file: "o.csv")
        XCTAssertEqual(officers.map(\.number), ["010203", "020304"])
        XCTAssertEqual(officers[0].unit, "一中队, 东区")
        XCTAssertEqual(officers[0].certificateExpires, "2027-12-31")
        XCTAssertEqual(officers[1].name, "李\"娜")
        XCTAssertEqual(officers[1].certificateStatus, .revoked)
        XCTAssertNil(officers[1].certificateExpires)
        XCTAssertNil(officers[1].unit)
    }

    func testEveryBadOfficerLineIsNamed() {
        let text = """
            number,name,certificate_number,certificate_status,certificate_expires,unit
            12345,短,C1,valid,,
            010203,张伟,C2,suspended,,
            010204,王五,C3,valid,2027-02-30,
            010205,,C4,valid,,
            010206,赵六,C5,valid
            """
        XCTAssertThrowsError(try OfficerCSV.parse(text, file: "o.csv")) { error in
            XCTAssertEqual((error as? CSVError)?.problems, ["o.csv: line 6: 4 fields instead of 6"])
        }
        let shapeOK = text.components(separatedBy: "\n").dropLast().joined(separator: "\n")
        XCTAssertThrowsError(try OfficerCSV.parse(shapeOK, file: "o.csv")) { error in
            XCTAssertEqual((error as? CSVError)?.problems, [
                "o.csv: line 2: number \"12345\" is not 6 digits",
                "o.csv: line 3: certificate_status \"suspended\" is not valid, expired or revoked",
                "o.csv: line 4: certificate_expires \"2027-02-30\" is not YYYY-MM-DD",
                "o.csv: line 5: name and certificate_number must not be empty",
            ])
        }
    }

    func testCasesCarryATypedProcedureAndAWrongHeaderIsNamed() throws {
        let cases = try CaseCSV.parse("number,title,procedure,opened_at\nX1,违法停车,simple,2024-11-05\nX2,占道经营,general,\n", file: "c.csv")
        XCTAssertEqual(cases.map(\.procedure), [.simple, .general])
        XCTAssertEqual(cases[0].openedAt, "2024-11-05")
        XCTAssertThrowsError(try CaseCSV.parse("number,title\nX1,违法停车\n", file: "c.csv")) { error in
            XCTAssertEqual((error as? CSVError)?.problems, ["c.csv: line 1 must be the header number,title,procedure,opened_at"])
        }
        XCTAssertThrowsError(try CaseCSV.parse("", file: "c.csv")) { error in
            XCTAssertEqual((error as? CSVError)?.problems, ["c.csv: empty file"])
        }
        XCTAssertThrowsError(try CaseCSV.parse("number,title,procedure,opened_at\nX1,违法停车,quick,\n", file: "c.csv")) { error in
            XCTAssertEqual((error as? CSVError)?.problems, ["c.csv: line 2: procedure \"quick\" is not simple or general"])
        }
    }
}
