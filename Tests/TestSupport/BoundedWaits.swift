import Foundation
import XCTest

/// Every wait on a child process or a pipe in the tests is bounded: a child that hangs fails its
/// test, never the whole run.

/// Waits for `process` to end, at most `timeout` seconds; a process still running then is
/// killed (SIGKILL). False when it had to be killed.
@discardableResult
public func waitForExit(_ process: Process, timeout: TimeInterval = 60) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    let ended = !process.isRunning
    if !ended { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()  // bounded: the process has ended or was sent SIGKILL
    return ended
}

/// What the pipe holds now, waiting at most `timeout` seconds for something to arrive: nil when
/// nothing came in time, empty at end of file.
public func readAvailable(_ handle: FileHandle, timeout: TimeInterval) -> Data? {
    var descriptor = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
    let ready = poll(&descriptor, 1, Int32(max(0, timeout) * 1000))
    guard ready > 0 else { return nil }
    return handle.availableData
}

/// Reads `handle` until `done` holds for the text read, the pipe ends, or `timeout` passes.
public func readUntil(_ handle: FileHandle, timeout: TimeInterval, while running: () -> Bool = { true },
                      _ done: (String) -> Bool) -> String {
    var text = ""
    let deadline = Date().addingTimeInterval(timeout)
    while !done(text) && Date() < deadline && running() {
        guard let chunk = readAvailable(handle, timeout: min(0.2, max(0, deadline.timeIntervalSinceNow))) else { continue }
        if chunk.isEmpty { break }
        text += String(decoding: chunk, as: UTF8.self)
    }
    return text
}
