import Hummingbird
import SyncProtocol

// The wire types a handler returns, answered as JSON by the context's encoder (WireCoding).
extension EnrollResponse: ResponseEncodable {}
extension BatchCreated: ResponseEncodable {}
extension EvidenceRecord: ResponseEncodable {}
extension SignedEnvelope: ResponseEncodable {}
extension PossessionAnswer: ResponseEncodable {}
extension ReceiptTimestampAnswer: ResponseEncodable {}
