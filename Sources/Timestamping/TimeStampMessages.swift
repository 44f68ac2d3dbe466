import Foundation
import SwiftASN1

// RFC 3161 messages, as far as a client needs them: the query it sends and, in the reply, the
// status and the signed TSTInfo (what was stamped, when, with which nonce). The CMS signature
// itself is checked by whoever verifies the token (`openssl ts -verify` with the TSA's CA).

extension ASN1ObjectIdentifier {
    static let sha256: ASN1ObjectIdentifier = "2.16.840.1.101.3.4.2.1"
    static let cmsSignedData: ASN1ObjectIdentifier = "1.2.840.113549.1.7.2"
    static let tstInfo: ASN1ObjectIdentifier = "1.2.840.113549.1.9.16.1.4"
}

/// MessageImprint ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier, hashedMessage OCTET STRING }
public struct MessageImprint: DERImplicitlyTaggable, Hashable, Sendable {
    public static var defaultIdentifier: ASN1Identifier { .sequence }

    public var hashAlgorithm: ASN1ObjectIdentifier
    public var hashedMessage: [UInt8]

    /// A SHA-256 imprint of `digest` (32 bytes).
    public init(sha256 digest: [UInt8]) {
        hashAlgorithm = .sha256
        hashedMessage = digest
    }

    public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
        self = try DER.sequence(rootNode, identifier: identifier) { nodes in
            let algorithm = try DER.sequence(of: ASN1Any.self, identifier: .sequence, nodes: &nodes)
            guard let first = algorithm.first else {
                throw ASN1Error.invalidASN1Object(reason: "a hash algorithm without its identifier")
            }
            let oid = try ASN1ObjectIdentifier(asn1Any: first)
            let hashed = try ASN1OctetString(derEncoded: &nodes)
            return MessageImprint(algorithm: oid, hashedMessage: Array(hashed.bytes))
        }
    }

    private init(algorithm: ASN1ObjectIdentifier, hashedMessage: [UInt8]) {
        hashAlgorithm = algorithm
        self.hashedMessage = hashedMessage
    }

    public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier) throws {
        try coder.appendConstructedNode(identifier: identifier) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(hashAlgorithm)
                try coder.serialize(ASN1Null())
            }
            try coder.serialize(ASN1OctetString(contentBytes: hashedMessage[...]))
        }
    }
}

/// TimeStampReq ::= SEQUENCE { version INTEGER, messageImprint, reqPolicy OPTIONAL,
/// nonce INTEGER OPTIONAL, certReq BOOLEAN DEFAULT FALSE, extensions [0] OPTIONAL }
public struct TimeStampQuery: Sendable, Equatable {
    public var imprint: MessageImprint
    /// Ties the reply to this query: a replayed reply carries another nonce.
    public var nonce: UInt64
    /// Asks the TSA to put its certificate in the token, so a verifier needs only the CA.
    public var certificateRequested = true

    public init(imprint: MessageImprint, nonce: UInt64 = UInt64.random(in: 1...UInt64.max)) {
        self.imprint = imprint
        self.nonce = nonce
    }

    /// The DER bytes sent as `application/timestamp-query`.
    public func derEncoded() throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)
            try coder.serialize(imprint)
            try coder.serialize(nonce)
            if certificateRequested { try coder.serialize(true) }
        }
        return serializer.serializedBytes
    }
}

/// The part of a time-stamp token that says what was stamped and when (TSTInfo).
public struct TimeStampInfo: Sendable, Equatable {
    public var policy: ASN1ObjectIdentifier
    public var imprint: MessageImprint
    /// The TSA's serial number of this token, as hex.
    public var serialNumber: String
    public var time: Date
    public var nonce: UInt64?
}

/// PKIStatus: granted (0) and grantedWithMods (1) carry a token; the rest say why not.
public enum TimeStampStatus: Int, Sendable, Equatable {
    case granted = 0, grantedWithModifications, rejection, waiting, revocationWarning, revocationNotification

    public var carriesToken: Bool { self == .granted || self == .grantedWithModifications }
}

/// A TimeStampResp as received: the status, and the stamped facts read from its token.
public struct TimeStampReply: Sendable, Equatable {
    public var status: TimeStampStatus
    /// The TSA's own words on a refusal.
    public var statusText: [String]
    public var info: TimeStampInfo?
    /// The whole reply, exactly as received: what `openssl ts -verify -in` reads.
    public var derBytes: [UInt8]

    public init(derEncoded bytes: [UInt8]) throws(TimestampError) {
        derBytes = bytes
        do {
            let root = try DER.parse(bytes)
            (status, statusText, info) = try DER.sequence(root, identifier: .sequence) { nodes in
                let (code, text) = try DER.sequence(nodes.next() ?? root, identifier: .sequence) { statusNodes in
                    let code = try Int(derEncoded: &statusNodes)
                    var text: [String] = []
                    if let next = statusNodes.next(), next.identifier == .sequence {
                        text = try DER.sequence(of: ASN1UTF8String.self, identifier: .sequence, rootNode: next).map(String.init)
                    }
                    while statusNodes.next() != nil {}  // failInfo: the status and text say enough
                    return (code, text)
                }
                guard let status = TimeStampStatus(rawValue: code) else {
                    throw ASN1Error.invalidASN1Object(reason: "unknown PKIStatus \(code)")
                }
                let info = try nodes.next().map(Self.stampedFacts(ofToken:))
                return (status, text, info)
            }
        } catch let error as TimestampError {
            throw error
        } catch {
            throw .malformedReply("\(error)")
        }
        if status.carriesToken && info == nil {
            throw .malformedReply("the TSA granted the request but sent no token")
        }
    }

    /// ContentInfo { signedData, [0] SignedData { …, encapContentInfo { id-ct-TSTInfo, [0] OCTET STRING TSTInfo }, … } }
    private static func stampedFacts(ofToken token: ASN1Node) throws -> TimeStampInfo {
        try DER.sequence(token, identifier: .sequence) { nodes in
            let contentType = try ASN1ObjectIdentifier(derEncoded: &nodes)
            guard contentType == .cmsSignedData else {
                throw TimestampError.malformedReply("the token is not CMS signed data (\(contentType))")
            }
            return try DER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific) { signedData in
                try DER.sequence(signedData, identifier: .sequence) { nodes in
                    _ = try Int(derEncoded: &nodes)  // CMSVersion
                    _ = nodes.next()  // digestAlgorithms
                    let info = try DER.sequence(nodes.next() ?? signedData, identifier: .sequence) { encapsulated in
                        let type = try ASN1ObjectIdentifier(derEncoded: &encapsulated)
                        guard type == .tstInfo else {
                            throw TimestampError.malformedReply("the token signs \(type), not a TSTInfo")
                        }
                        let content = try DER.explicitlyTagged(&encapsulated, tagNumber: 0, tagClass: .contextSpecific) {
                            try ASN1OctetString(derEncoded: $0)
                        }
                        return try tstInfo(DER.parse(content.bytes))
                    }
                    while nodes.next() != nil {}  // certificates, CRLs, signer infos: for the verifier
                    return info
                }
            }
        }
    }

    /// TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, accuracy
    /// OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL, tsa [0] OPTIONAL, extensions [1] OPTIONAL }
    private static func tstInfo(_ node: ASN1Node) throws -> TimeStampInfo {
        try DER.sequence(node, identifier: .sequence) { nodes in
            _ = try Int(derEncoded: &nodes)
            let policy = try ASN1ObjectIdentifier(derEncoded: &nodes)
            let imprint = try MessageImprint(derEncoded: &nodes)
            let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
            let generalized = try GeneralizedTime(derEncoded: &nodes)
            var nonce: UInt64?
            while let next = nodes.next() {
                // Accuracy is a SEQUENCE and ordering a BOOLEAN; the nonce is the one INTEGER.
                if next.identifier == .integer { nonce = try UInt64(derEncoded: next) }
            }
            return TimeStampInfo(policy: policy, imprint: imprint, serialNumber: serial.map { String(format: "%02x", $0) }.joined(),
                                 time: date(of: generalized), nonce: nonce)
        }
    }

    private static func date(of time: GeneralizedTime) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: time.year, month: time.month, day: time.day,
                                        hour: time.hours, minute: time.minutes, second: time.seconds)
        return (calendar.date(from: components) ?? .distantPast).addingTimeInterval(time.fractionalSeconds)
    }

    /// What the token stamps, when this reply grants one over exactly `imprint`.
    public func check(stamping imprint: MessageImprint) throws(TimestampError) -> TimeStampInfo {
        guard status.carriesToken, let info else {
            let said = statusText.isEmpty ? "" : ": " + statusText.joined(separator: "; ")
            throw .refused("the TSA answered \(status)\(said)")
        }
        guard info.imprint.hashAlgorithm == imprint.hashAlgorithm, info.imprint.hashedMessage == imprint.hashedMessage else {
            throw .wrongImprint("the token stamps another hash than the one asked for")
        }
        return info
    }

    /// What the token stamps, when this reply grants one over the query's imprint with its nonce.
    public func check(answering query: TimeStampQuery) throws(TimestampError) -> TimeStampInfo {
        let info = try check(stamping: query.imprint)
        guard info.nonce == query.nonce else {
            throw .wrongNonce("the token carries nonce \(info.nonce.map(String.init) ?? "none"), the query sent \(query.nonce)")
        }
        return info
    }
}

/// Why a time-stamp could not be had or trusted.
public enum TimestampError: Error, Equatable, CustomStringConvertible {
    case malformedReply(String)
    case refused(String)
    case wrongImprint(String)
    case wrongNonce(String)
    case unreachable(String)

    public var description: String {
        switch self {
        case .malformedReply(let why): "the TSA's reply is not an RFC 3161 time-stamp response: \(why)"
        case .refused(let why), .wrongImprint(let why), .wrongNonce(let why), .unreachable(let why): why
        }
    }
}
