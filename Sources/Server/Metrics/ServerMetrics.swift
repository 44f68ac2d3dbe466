import Foundation
import CoreMetrics
import Prometheus

/// The server's Prometheus counters and the registry `/metrics` prints. One registry per
/// process: the metrics system (which Hummingbird's `MetricsMiddleware` reports to) can be
/// bootstrapped only once, so every server in a process shares these counters.
final class ServerMetrics: Sendable {
    static let shared = ServerMetrics()

    let registry: PrometheusCollectorRegistry
    /// Every body byte a PATCH delivered, accepted or not.
    let uploadBytesReceived: Prometheus.Counter
    /// Chunks answered 460: their checksum did not match.
    let uploadChunksRejected: Prometheus.Counter
    let uploadsCompleted: Prometheus.Counter
    let batchesCommitted: Prometheus.Counter
    let receiptsIssued: Prometheus.Counter
    let requestsUnauthorized: Prometheus.Counter
    /// Enrolments refused for a wrong, used or revoked token, or a malformed request.
    let enrolmentFailures: Prometheus.Counter
    /// Enrolments refused (429) because their address failed too often.
    let enrolmentsThrottled: Prometheus.Counter
    /// Idle connections closed to make room under the connection cap.
    let connectionsEvicted: Prometheus.Counter
    /// New connections closed at once: the cap was reached and every connection was busy.
    let connectionsRefused: Prometheus.Counter
    /// Receipts an RFC 3161 authority time-stamped.
    let receiptsTimestamped: Prometheus.Counter
    /// Time-stamp requests that failed (authority unreachable, refusing, or answering wrongly).
    let timestampFailures: Prometheus.Counter
    /// Upload bodies this process is receiving now: behind a load balancer, which instance
    /// holds an upload.
    let uploadsReceiving: Prometheus.Gauge
    /// Requests refused with 423: another request (on this or another instance) held the upload.
    let uploadLockConflicts: Prometheus.Counter

    private init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        uploadBytesReceived = registry.makeCounter(descriptor: .counter(
            "fieldgate_upload_bytes_received_total", help: "Body bytes received by tus PATCH requests, accepted or not."))
        uploadChunksRejected = registry.makeCounter(descriptor: .counter(
            "fieldgate_upload_chunks_rejected_total", help: "tus chunks rejected because their checksum did not match (460)."))
        uploadsCompleted = registry.makeCounter(descriptor: .counter(
            "fieldgate_uploads_completed_total", help: "Uploads completed and verified against their SHA-256."))
        batchesCommitted = registry.makeCounter(descriptor: .counter(
            "fieldgate_batches_committed_total", help: "Batches committed."))
        receiptsIssued = registry.makeCounter(descriptor: .counter(
            "fieldgate_receipts_issued_total", help: "Signed receipts issued."))
        requestsUnauthorized = registry.makeCounter(descriptor: .counter(
            "fieldgate_requests_unauthorized_total", help: "Requests refused with 401."))
        enrolmentFailures = registry.makeCounter(descriptor: .counter(
            "fieldgate_enrolment_failures_total", help: "Enrolments refused: unknown, used or revoked token, or a malformed request."))
        enrolmentsThrottled = registry.makeCounter(descriptor: .counter(
            "fieldgate_enrolments_throttled_total", help: "Enrolments refused with 429 because their address failed too often."))
        connectionsEvicted = registry.makeCounter(descriptor: .counter(
            "fieldgate_connections_evicted_total", help: "Idle connections closed to make room for new ones under the connection cap."))
        connectionsRefused = registry.makeCounter(descriptor: .counter(
            "fieldgate_connections_refused_total", help: "New connections closed because the cap was reached and every connection was busy."))
        receiptsTimestamped = registry.makeCounter(descriptor: .counter(
            "fieldgate_receipts_timestamped_total", help: "Receipts time-stamped by the RFC 3161 authority."))
        timestampFailures = registry.makeCounter(descriptor: .counter(
            "fieldgate_timestamp_failures_total", help: "Time-stamp requests that failed: authority unreachable, refusing or answering wrongly."))
        uploadsReceiving = registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "fieldgate_uploads_receiving", unitName: "", helpText: "Upload bodies this instance is receiving now."))
        uploadLockConflicts = registry.makeCounter(descriptor: .counter(
            "fieldgate_upload_lock_conflicts_total", help: "Upload requests refused with 423 because another request held the upload's lock."))
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Names this process in `fieldgate_instance_info{instance=...} 1`, so metrics scraped from
    /// several instances behind one address can be told apart.
    func announce(instance: String) {
        registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "fieldgate_instance_info", unitName: "",
            helpText: "Always 1; its label names this server instance (--instance, else host:port)."),
            labels: [("instance", instance)]).set(to: 1)
        registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "fieldgate_instance_start_time_seconds", unitName: "", helpText: "When this instance started, in seconds since 1970."),
            labels: [("instance", instance)]).set(to: Date().timeIntervalSince1970)
    }

    /// The registry in Prometheus' text format.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

extension MetricNameDescriptor {
    /// A counter's descriptor under its full name (the names are part of the operators' contract).
    static func counter(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
