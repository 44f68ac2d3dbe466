import Common
import Crypto
import Foundation
import SwiftASN1

/// The CA certificates that verify the receipts' RFC 3161 time-stamps, as the server handed
/// them over with each token: one PEM file in the bag, `openssl ts -verify -CAfile`'s argument.
enum TimestampAuthorityPEM {
    static let path = "data/keys/tsa-ca.pem"

    /// Each distinct certificate (PEM, newline-terminated) of the batches' time-stamps, in order.
    static func certificates(of batches: [BagDocuments]) -> [String] {
        var seen = Set<String>()
        var certificates: [String] = []
        for documents in batches where documents.timestampPath != nil {
            guard let text = documents.batch.timestampAuthority,
                  let parsed = try? PEMDocument.parseMultiple(pemString: text) else { continue }
            for document in parsed where document.discriminator == "CERTIFICATE" && seen.insert(document.pemString).inserted {
                certificates.append(document.pemString + "\n")
            }
        }
        return certificates
    }

    /// What `openssl x509 -in tsa-ca.pem -outform DER | sha256sum` prints for this certificate.
    static func fingerprint(_ pem: String) -> String? {
        guard let document = try? PEMDocument(pemString: pem) else { return nil }
        return SHA256.hash(data: Data(document.derBytes)).hexString
    }
}
