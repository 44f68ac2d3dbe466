/// How a printout reaches a printer: the USB bulk endpoint or a character device. The print
/// job talks to printers only through this.
public protocol PrinterTransport: Sendable {
    /// The printer's name, as the gateway knows it (registered name or USB serial).
    var name: String { get }
    /// Sends every byte, or fails naming the printer; `timeoutMilliseconds` bounds each wait.
    func deliver(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(PrintError)
}

extension USBPrinter: PrinterTransport {
    public func deliver(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(PrintError) {
        try send(bytes, timeoutMilliseconds: UInt32(clamping: timeoutMilliseconds))
    }
}

extension SerialPrinter: PrinterTransport {
    public func deliver(_ bytes: [UInt8], timeoutMilliseconds: Int) throws(PrintError) {
        try send(bytes, timeoutMilliseconds: Int32(clamping: timeoutMilliseconds))
    }
}
