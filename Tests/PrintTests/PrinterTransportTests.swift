import Foundation
import Print
import TestSupport
import USB
import USBEmulation
import XCTest

/// The two carriages: a character device (a pty standing in for /dev/rfcommN) and USB bulk
/// OUT to an emulated printer through the real libusb path.
final class PrinterTransportTests: XCTestCase {
    func job() throws -> [UInt8] {
        let library = TemplateLibrary(catalogFolders: [repositoryRoot.appendingPathComponent("devices").path])
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("seeds/documents/parking-notice.json"))
        let document = try Document(template: try library.template(named: "parking-notice"), data: data, source: "seed")
        return try ESCPOS.encode(lines: DocumentLayout.lines(of: document, paper: .mm58), qrCode: document.verificationId)
    }

    func testAPtyReceivesExactlyTheBytesSent() throws {
        let pty = try PseudoTerminal()
        pty.startReading()
        // Bytes a terminal would translate (LF, CR, XON/XOFF, DEL) must arrive unchanged.
        let bytes = try job() + [0x0A, 0x0D, 0x11, 0x13, 0x7F, 0x03]
        try SerialPrinter(name: "bt", path: pty.path).send(bytes)
        XCTAssertEqual(pty.waitForBytes(bytes.count), bytes)
    }

    func testAPtyNobodyReadsTimesOut() throws {
        let pty = try PseudoTerminal()
        XCTAssertThrowsError(try SerialPrinter(name: "bt", path: pty.path).send([UInt8](repeating: 0x41, count: 4 << 20),
                                                                                 timeoutMilliseconds: 300)) { error in
            guard case PrintError.timedOut(let name, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "bt")
            XCTAssertTrue(detail.contains(pty.path), detail)
        }
        // Once it gave up, whatever had fit in the pty's buffer is all that was written: not the job.
        pty.startReading()
        XCTAssertLessThan(pty.waitForBytes(4 << 20, timeout: 1).count, 4 << 20)
    }

    func testAStoppedPrinterTimesOutAtOnce() throws {
        let pty = try PseudoTerminal()
        pty.stopOutput()
        XCTAssertThrowsError(try SerialPrinter(name: "bt", path: pty.path).send(try job(), timeoutMilliseconds: 200)) { error in
            guard case PrintError.timedOut = error else { return XCTFail("\(error)") }
        }
    }

    func testAMissingDeviceIsAbsentAndAFileIsNotAPrinter() throws {
        XCTAssertFalse(SerialPrinter.isPresent(path: "/dev/rfcomm-none"))
        XCTAssertThrowsError(try SerialPrinter(name: "bt", path: "/dev/rfcomm-none").send([0x0A])) { error in
            guard case PrintError.absent(let name, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "bt")
            XCTAssertTrue(detail.contains("/dev/rfcomm-none"))
        }
        let file = try temporaryFolder(self).appendingPathComponent("plain")
        try Data().write(to: file)
        XCTAssertThrowsError(try SerialPrinter(name: "bt", path: file.path).send([0x0A])) { error in
            guard case PrintError.refused = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Data(contentsOf: file).count, 0)
    }

    func testAUSBPrinterGetsTheJobOnBulkOut() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        try testbed.plug(printer.description, behaviour: printer)
        let attached = try USBPrinter.attached(context: try USBContext())
        let found = try XCTUnwrap(attached.first { $0.serial == "PRN0001" })
        let bytes = try job() + job()  // two copies, two cuts
        try USBPrinter(name: "PRN0001", device: found.device).send(bytes)
        XCTAssertEqual(printer.received, bytes)
        let printout = try IndependentPrintout(bytes: printer.received)
        XCTAssertEqual(printout.cuts.count, 2)
        XCTAssertEqual(printout.qrCodes.count, 2)
        XCTAssertEqual(printout.texts.filter { $0 == "违法停车告知单" }.count, 2)
    }

    func testABusyUSBPrinterThatNAKsTimesOut() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        printer.busy = true
        try testbed.plug(printer.description, behaviour: printer)
        let found = try XCTUnwrap(try USBPrinter.attached(context: try USBContext()).first)
        XCTAssertThrowsError(try USBPrinter(name: "PRN0001", device: found.device).send(try job(), timeoutMilliseconds: 300)) { error in
            guard case PrintError.timedOut(let name, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "PRN0001")
        }
        XCTAssertEqual(printer.received, [])
        printer.busy = false
        try USBPrinter(name: "PRN0001", device: found.device).send(try job())
        XCTAssertEqual(printer.received, try job(), "once it takes bytes again, the next job goes through whole")
    }

    func testAUSBPrinterThatStallsTheTransferIsNamed() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        printer.jammed = true
        try testbed.plug(printer.description, behaviour: printer)
        let found = try XCTUnwrap(try USBPrinter.attached(context: try USBContext()).first)
        XCTAssertThrowsError(try USBPrinter(name: "PRN0001", device: found.device).send(try job())) { error in
            guard case PrintError.refused(let name, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "PRN0001")
            XCTAssertTrue(detail.contains("stalled") && detail.contains("after 0 of"), detail)
        }
        XCTAssertEqual(printer.received, [])
    }

    func testAUSBPrinterOutOfPaperRefusesAndGetsNothing() throws {
        let testbed = try emulationTestbed()
        defer { testbed.unplugAll() }
        let printer = EmulatedPrinter()
        printer.paperOut = true
        try testbed.plug(printer.description, behaviour: printer)
        let found = try XCTUnwrap(try USBPrinter.attached(context: try USBContext()).first)
        XCTAssertThrowsError(try USBPrinter(name: "PRN0001", device: found.device).send(try job())) { error in
            guard case PrintError.refused(_, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("out of paper"), detail)
        }
        XCTAssertEqual(printer.received, [])
    }
}
