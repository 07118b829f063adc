//! Prometheus metrics, served at `/metrics`.
//!
//! Labels are bounded by the config: a route label is a served path or `unmatched`, a provider
//! label a provider name. Names follow Prometheus conventions (`_total`, `_seconds`).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: from 100 µs (a cached answer) to 10 s (a slow upstream).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls reuse it).
pub fn init() {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| tracing::warn!("metrics are off: {e}"))
            .ok()
    });
}

/// The metrics in Prometheus text format.
pub fn render() -> String {
    HANDLE
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

/// One answered request.
pub fn request(route: &str, status: u16, elapsed: Duration) {
    let route = route.to_string();
    metrics::counter!("widgetgate_requests_total", "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("widgetgate_request_duration_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
}

/// One upstream call and its outcome (`ok` or `error`).
pub fn upstream_call(provider: &str, outcome: &'static str, elapsed: Duration) {
    let provider = provider.to_string();
    metrics::counter!("widgetgate_upstream_calls_total", "provider" => provider.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!("widgetgate_upstream_duration_seconds", "provider" => provider)
        .record(elapsed.as_secs_f64());
}

/// A cache lookup: `hit`, `miss` or `stale`.
pub fn cache(status: &'static str) {
    metrics::counter!("widgetgate_cache_total", "status" => status).increment(1);
}

/// A request refused by a rate limit; `scope` says whose (`provider`, `client`).
pub fn rate_limited(scope: &'static str) {
    metrics::counter!("widgetgate_rate_limited_total", "scope" => scope).increment(1);
}

/// A config reload and its result (`ok`, `error`).
pub fn reload(result: &'static str) {
    metrics::counter!("widgetgate_config_reloads_total", "result" => result).increment(1);
}

/// A connection opened (+1) or closed (-1).
pub fn connections(delta: f64) {
    metrics::gauge!("widgetgate_active_connections").increment(delta);
}
