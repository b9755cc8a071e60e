//! Metric names and the Prometheus recorder.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// HTTP request latency, by route and status.
pub const HTTP_REQUEST_SECONDS: &str = "creditline_http_request_seconds";
/// Commands per journal record.
pub const BATCH_COMMANDS: &str = "creditline_batch_commands";
/// Time of one journal append including its fsync.
pub const JOURNAL_APPEND_SECONDS: &str = "creditline_journal_append_seconds";
/// Time the engine took to apply one batch.
pub const BATCH_APPLY_SECONDS: &str = "creditline_batch_apply_seconds";
/// Bytes in all journal segments.
pub const JOURNAL_BYTES: &str = "creditline_journal_bytes";
/// Commands durable in the journal but not yet in the read model.
pub const PROJECTOR_LAG_COMMANDS: &str = "creditline_projector_lag_commands";

/// Installs the global recorder once per process and returns the handle that renders
/// `/metrics` (a second server in the same process, as in tests, shares it).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: std::sync::Mutex<Option<PrometheusHandle>> = std::sync::Mutex::new(None);
    let mut installed = HANDLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(handle) = installed.as_ref() {
        return Ok(handle.clone());
    }
    let seconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
    let sizes = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0];
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_SECONDS.into()), &seconds)?
        .set_buckets_for_metric(Matcher::Full(JOURNAL_APPEND_SECONDS.into()), &seconds)?
        .set_buckets_for_metric(Matcher::Full(BATCH_APPLY_SECONDS.into()), &seconds)?
        .set_buckets_for_metric(Matcher::Full(BATCH_COMMANDS.into()), &sizes)?
        .install_recorder()?;
    Ok(installed.insert(handle).clone())
}
