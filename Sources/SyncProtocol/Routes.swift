/// The paths of the server's API, written once for the server's router and the gateway's client.
/// A path with an identifier is a function: the client calls it with the value, the router with
/// its `:name` parameter pattern.
public enum Route {
    public static let enroll = "/v1/enroll"
    public static let batches = "/v1/batches"
    public static let uploads = "/v1/uploads"
    public static let health = "/healthz"
    public static let metrics = "/metrics"
    public static let apiDescription = "/openapi.yaml"

    public static func batch(_ batchId: String) -> String { "\(batches)/\(batchId)" }
    public static func commit(_ batchId: String) -> String { "\(batch(batchId))/commit" }
    public static func timestamp(_ batchId: String) -> String { "\(batch(batchId))/timestamp" }
    public static func possession(_ batchId: String) -> String { "\(batch(batchId))/possession" }
    public static func upload(_ uploadId: String) -> String { "\(uploads)/\(uploadId)" }
    public static func evidence(_ sha256: String) -> String { "/v1/evidence/\(sha256)" }

    /// The router's parameter names for the identifiers above.
    public enum Parameter {
        public static let batchId = "batchId"
        public static let uploadId = "uploadId"
        public static let sha256 = "sha256"

        /// `:name`, the router's pattern for the parameter.
        public static func pattern(_ name: String) -> String { ":\(name)" }
    }
}
