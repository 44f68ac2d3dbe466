import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A finger for libfprint's `virtual_image` reader, which appears when `FP_VIRTUAL_IMAGE`
/// names a Unix socket and listens on it once the reader is opened. The feeder connects and
/// sends a packet: two native-endian Int32 (width, height), then width×height bytes of 8-bit
/// grey. A negative width is a command instead (-2: report an error).
public enum VirtualFingerprint {
    public static let width = 256, height = 360

    /// A fingerprint-like image: curved ridges about 9 pixels apart, dark on white, with a few
    /// phase singularities (bifurcations) and gaps (ridge endings), so libfprint's minutiae
    /// detection finds enough minutiae to accept it. The same seed gives the same bytes.
    public static func image(seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        func random(_ low: Double, _ high: Double) -> Double {
            // SplitMix64: small, fast, reproducible.
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return low + (high - low) * Double(z >> 11) / Double(1 << 53)
        }
        let w = Double(width), h = Double(height)
        let centre = (x: w / 2, y: h * 0.55)
        let singularities = (0..<6).map { _ in (x: random(40, w - 40), y: random(60, h - 60)) }
        let gaps = (0..<25).map { _ in (x: random(20, w - 20), y: random(20, h - 20), r: random(3, 6)) }
        var pixels = [UInt8](repeating: 0xFF, count: width * height)
        for y in 16..<(height - 16) {
            for x in 16..<(width - 16) {
                let fx = Double(x), fy = Double(y)
                var phase = ((fx - centre.x) * (fx - centre.x) + (fy - centre.y) * 0.8 * (fy - centre.y) * 0.8).squareRoot() / 1.45
                for point in singularities { phase += atan2(fy - point.y, fx - point.x) }
                var value = 0.5 + 0.5 * cos(phase)
                for gap in gaps where (fx - gap.x) * (fx - gap.x) + (fy - gap.y) * (fy - gap.y) < gap.r * gap.r { value = 1 }
                pixels[y * width + x] = UInt8(value * 255)
            }
        }
        return pixels
    }

    /// The image as binary PGM (P5), as fieldgate stores a capture.
    public static func pgm(_ pixels: [UInt8]) -> [UInt8] { Array("P5\n\(width) \(height)\n255\n".utf8) + pixels }

    public enum Press: Sendable {
        /// A finger: this image.
        case finger([UInt8])
        /// The reader reports an error (command -2).
        case error
    }

    /// Connects to the socket once libfprint listens on it (waiting up to `timeout` seconds)
    /// and sends one press. Returns false when the socket never appeared.
    @discardableResult
    public static func press(_ press: Press, socketPath: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return false }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(socketPath.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(descriptor); return false }
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in bytes.enumerated() { buffer[index] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if connected == 0 {
                var packet: [UInt8]
                switch press {
                case .finger(let pixels):
                    packet = withUnsafeBytes(of: Int32(width)) { Array($0) } + withUnsafeBytes(of: Int32(height)) { Array($0) } + pixels
                case .error:
                    packet = withUnsafeBytes(of: Int32(-2)) { Array($0) } + withUnsafeBytes(of: Int32(0)) { Array($0) }
                }
                var offset = 0
                while offset < packet.count {
                    let written = packet.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, packet.count - offset, Int32(MSG_NOSIGNAL)) }
                    if written <= 0 { break }
                    offset += written
                }
                // libfprint reads the packet before the connection closes.
                Thread.sleep(forTimeInterval: 0.5)
                close(descriptor)
                return offset == packet.count
            }
            close(descriptor)
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}
