import Foundation
@testable import ObjectStorage
import XCTest

/// The signer against AWS's published Signature Version 4 test suite and the worked examples of
/// S3's documentation ("Signature Calculations for the Authorization Header").
final class SignatureV4Tests: XCTestCase {
    let suite = SignatureV4(credentials: S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                            region: "us-east-1", service: "service")
    let s3 = SignatureV4(credentials: S3Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                         region: "us-east-1", service: "s3")
    let suiteHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    let emptyHash = SignatureV4.emptyPayloadSHA256

    func testGetVanilla() {
        let signature = suite.sign(method: "GET", path: "/", query: [], headers: suiteHeaders, payloadSHA256: emptyHash, timestamp: "20150830T123600Z")
        XCTAssertEqual(signature.canonicalRequest, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)")
        XCTAssertEqual(signature.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        XCTAssertEqual(signature.authorization,
                       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    func testPostVanilla() {
        let signature = suite.sign(method: "POST", path: "/", query: [], headers: suiteHeaders, payloadSHA256: emptyHash, timestamp: "20150830T123600Z")
        XCTAssertEqual(signature.signature, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
    }

    func testQueryParametersAreSortedByName() {
        let signature = suite.sign(method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: suiteHeaders,
                                   payloadSHA256: emptyHash, timestamp: "20150830T123600Z")
        XCTAssertTrue(signature.canonicalRequest.contains("\nParam1=value1&Param2=value2\n"), signature.canonicalRequest)
        XCTAssertEqual(signature.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    func testS3GetObjectWithARange() {
        let signature = s3.sign(method: "GET", path: "/test.txt", query: [],
                                headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                                          ("x-amz-content-sha256", emptyHash), ("x-amz-date", "20130524T000000Z")],
                                payloadSHA256: emptyHash, timestamp: "20130524T000000Z")
        XCTAssertEqual(signature.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertTrue(signature.authorization.contains("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"), signature.authorization)
    }

    func testS3PutObjectWithAKeyThatNeedsEncoding() {
        let payload = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let signature = s3.sign(method: "PUT", path: "/test$file.text", query: [],
                                headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                          ("x-amz-date", "20130524T000000Z"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                                          ("x-amz-content-sha256", payload)],
                                payloadSHA256: payload, timestamp: "20130524T000000Z")
        XCTAssertTrue(signature.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n\n"), signature.canonicalRequest)
        XCTAssertEqual(signature.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    func testS3BucketSubresourceAndListingQueries() {
        let headers = [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-content-sha256", emptyHash), ("x-amz-date", "20130524T000000Z")]
        let lifecycle = s3.sign(method: "GET", path: "/", query: [("lifecycle", "")], headers: headers, payloadSHA256: emptyHash,
                                timestamp: "20130524T000000Z")
        XCTAssertEqual(lifecycle.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        let listing = s3.sign(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: headers, payloadSHA256: emptyHash,
                              timestamp: "20130524T000000Z")
        XCTAssertEqual(listing.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    func testSignedHeadersAddTheDateAndTheSessionToken() {
        var credentials = s3.credentials
        credentials.sessionToken = "token"
        let signer = SignatureV4(credentials: credentials, region: "us-east-1")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
        let headers = signer.signedHeaders(method: "GET", path: "/b/k", query: [], headers: [("host", "h")], payloadSHA256: emptyHash, at: date)
        XCTAssertEqual(headers.first { $0.0 == "x-amz-date" }?.1, "20130524T000000Z")
        XCTAssertEqual(headers.first { $0.0 == "x-amz-security-token" }?.1, "token")
        XCTAssertTrue(headers.last?.1.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,") ?? false)
    }

    func testEncodingKeepsOnlyUnreservedCharacters() {
        XCTAssertEqual(SignatureV4.encode("a b/c~d_e-f.g"), "a%20b%2Fc~d_e-f.g")
        XCTAssertEqual(SignatureV4.encode("a b/c", keepingSlashes: true), "a%20b/c")
        XCTAssertEqual(SignatureV4.encode("证据"), "%E8%AF%81%E6%8D%AE")
    }

    func testCredentialsComeFromTheEnvironmentAndAMissingOneIsNamed() throws {
        XCTAssertEqual(try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"]),
                       S3Credentials(accessKeyId: "a", secretAccessKey: "s"))
        XCTAssertThrowsError(try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "a"])) { error in
            XCTAssertTrue("\(error)".contains("AWS_SECRET_ACCESS_KEY"), "\(error)")
        }
        XCTAssertThrowsError(try S3Credentials.fromEnvironment([:])) { error in
            XCTAssertTrue("\(error)".contains("AWS_ACCESS_KEY_ID"), "\(error)")
        }
    }

    func testXMLAnswersAreReadWithTheirEntities() {
        let text = """
            <?xml version="1.0"?><ListPartsResult><Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag><Size>5</Size></Part>\
            <Part><PartNumber>2</PartNumber><ETag>"d&amp;e"</ETag><Size>7</Size></Part><IsTruncated>false</IsTruncated></ListPartsResult>
            """
        let parts = S3XML.elements("Part", in: text[...])
        XCTAssertEqual(parts.count, 2)
        XCTAssertEqual(S3XML.value("ETag", in: parts[0]), "\"abc\"")
        XCTAssertEqual(S3XML.value("ETag", in: parts[1]), "\"d&e\"")
        XCTAssertNil(S3XML.value("PartNumberMarker", in: text[...]))
        XCTAssertEqual(S3XML.value("IsTruncated", in: text[...]), "false")
    }
}
