import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
@testable import Sync
import Synchronization
import XCTest

/// A chunk's body is read from the stored copy a piece at a time, and a piece is read only
/// once the HTTP client's event loops have run what was queued before it: behind a busy loop,
/// pieces wait on disk instead of piling up in the gateway's memory.
final class ChunkBodyTests: XCTestCase {
    func testAPieceWaitsUntilTheEventLoopHasRunTheWritesQueuedBeforeIt() async throws {
        let (file, bytes) = try storedCopy(count: 3 << 20 + 12345)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        // The loop is busy (as when it serves other uploads on two cores), with a write queued behind.
        let busy = DispatchSemaphore(value: 0)
        loop.execute { busy.wait() }
        let queuedWriteRan = Mutex(false)
        loop.execute { queuedWriteRan.withLock { $0 = true } }

        let reader = Task { () -> (ranBeforeFirstPiece: Bool, body: [UInt8]) in
            var pieces = FileChunkBytes(file: file, offset: 0, count: bytes.count, limiter: nil, eventLoops: group).makeAsyncIterator()
            var body: [UInt8] = []
            var ranBeforeFirstPiece: Bool?
            while let piece = try await pieces.next() {
                if ranBeforeFirstPiece == nil { ranBeforeFirstPiece = queuedWriteRan.withLock { $0 } }
                body += piece.readableBytesView
            }
            return (ranBeforeFirstPiece ?? false, body)
        }
        // Time for a reader that does not wait to read ahead of the loop.
        try await Task.sleep(for: .milliseconds(200))
        busy.signal()
        let result = try await reader.value
        try await group.shutdownGracefully()

        XCTAssertTrue(result.ranBeforeFirstPiece, "a piece was read while the event loop still had earlier writes queued")
        XCTAssertEqual(result.body.count, bytes.count)
        XCTAssertTrue(result.body == bytes, "the body is not the stored bytes")
    }

    func testAChunkInTheMiddleOfTheCopyIsItsOwnBytesPieceByPiece() async throws {
        let (file, bytes) = try storedCopy(count: 5 << 20)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let piece = FileChunkBytes.pieceSize
        let offset = (1 << 20) + 7, count = 8 * piece + 100
        var pieces = FileChunkBytes(file: file, offset: Int64(offset), count: count, limiter: nil, eventLoops: group).makeAsyncIterator()
        var sizes: [Int] = [], body: [UInt8] = []
        while let piece = try await pieces.next() {
            sizes.append(piece.readableBytes)
            body += piece.readableBytesView
        }
        try await group.shutdownGracefully()
        XCTAssertEqual(sizes, Array(repeating: piece, count: 8) + [100])
        XCTAssertTrue(body[...] == bytes[offset..<offset + count], "the chunk is not the stored bytes at its offset")
    }

    func testAPieceTheConnectionStillHoldsIsNeverReadIntoAgain() async throws {
        let (file, bytes) = try storedCopy(count: 3 * PieceBuffers.count * FileChunkBytes.pieceSize)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Every piece held, as by a connection that has written none of them yet.
        var held: [ByteBuffer] = []
        try await readChunks(3, of: file, on: group) { held.append($0) }
        try await group.shutdownGracefully()
        let body = held.flatMap { Array($0.readableBytesView) }
        XCTAssertTrue(body == bytes, "a piece still held was overwritten by a later one")
        XCTAssertEqual(file.pieces.freshBuffers, held.count, "every piece was still held, so each needed fresh memory")
    }

    func testAPieceTheConnectionHasLetGoIsReadIntoAgainInsteadOfFreshMemory() async throws {
        let (file, bytes) = try storedCopy(count: 4 * PieceBuffers.count * FileChunkBytes.pieceSize)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var body: [UInt8] = []
        // Four chunks of one upload, each piece let go as soon as it is read (a fast connection).
        try await readChunks(4, of: file, on: group) { body += $0.readableBytesView }
        try await group.shutdownGracefully()
        XCTAssertTrue(body == bytes)
        XCTAssertEqual(file.pieces.freshBuffers, PieceBuffers.count, "\(4 * PieceBuffers.count) pieces were read into \(file.pieces.freshBuffers) fresh buffers")
    }

    func testACopyShorterThanItsRecordedSizeIsAnErrorNotAShortBody() async throws {
        let (file, bytes) = try storedCopy(count: 100_000)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var pieces = FileChunkBytes(file: file, offset: 0, count: bytes.count + 1, limiter: nil, eventLoops: group).makeAsyncIterator()
        do {
            _ = try await pieces.next()
            XCTFail("a short stored copy gave a body")
        } catch let error as SyncError {
            XCTAssertTrue("\(error)".contains("shorter than its recorded size"), "\(error)")
        }
        try await group.shutdownGracefully()
    }

    /// Reads the first `chunks` chunks of one upload of `file`, each `PieceBuffers.count` pieces
    /// long, handing every piece to `each` as it is read.
    private func readChunks(_ chunks: Int, of file: OpenFile, on group: any EventLoopGroup, _ each: (ByteBuffer) -> Void) async throws {
        let chunkSize = PieceBuffers.count * FileChunkBytes.pieceSize
        for chunk in 0..<chunks {
            var pieces = FileChunkBytes(file: file, offset: Int64(chunk * chunkSize), count: chunkSize, limiter: nil, eventLoops: group)
                .makeAsyncIterator()
            while let piece = try await pieces.next() { each(piece) }
        }
    }

    /// A stored copy of `count` random bytes, open for reading.
    private func storedCopy(count: Int) throws -> (OpenFile, [UInt8]) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("chunk-body-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        let bytes = [UInt8](try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: count))
        let path = folder.appendingPathComponent("blob").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        return (OpenFile(descriptor: descriptor, path: path), bytes)
    }
}
