//! Prometheus metrics, served at `/metrics`.
//!
//! Labels are bounded by the config: a route label is a served path or `unmatched`, a provider
//! label a provider name. Names follow Prometheus conventions (`_total`, `_seconds`).

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: from 100 µs (a cached answer) to 10 s (a slow upstream).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// How often histogram samples are folded into their buckets. The recorder keeps every sample
/// (24 bytes) until then, so without this a gateway nobody scrapes grows by each request.
const UPKEEP_EVERY: Duration = Duration::from_secs(1);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls reuse it) and its upkeep thread.
pub fn init() {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| tracing::warn!("metrics are off: {e}"))
            .ok()?;
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("metrics upkeep thread: {e}");
        }
        let _ = CACHE_COUNTERS.set(
            CACHE_STATUSES
                .map(|status| metrics::counter!("widgetgate_cache_total", "status" => status)),
        );
        Some(handle)
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

/// Registered handles of `widgetgate_requests_total` and `widgetgate_request_duration_seconds`
/// by route and status: a request then costs two map lookups instead of building, hashing and
/// looking up label sets (three allocations) in the recorder.
/// foldhash, not SipHash: the keys are the config's paths and status codes.
type RequestHandles = HashMap<String, HashMap<u16, (Counter, Histogram), Fold>, Fold>;
type Fold = foldhash::fast::RandomState;
static REQUEST_HANDLES: LazyLock<RwLock<RequestHandles>> = LazyLock::new(Default::default);

/// Whether our recorder is installed: handles registered before it would stay no-ops.
fn installed() -> bool {
    HANDLE.get().is_some_and(Option::is_some)
}

/// One answered request.
pub fn request(route: &str, status: u16, elapsed: Duration) {
    with_request_handles(route, status, |count, duration| {
        count.increment(1);
        duration.record(elapsed.as_secs_f64());
    });
}

/// Runs `f` with the handles of `widgetgate_requests_total` and
/// `widgetgate_request_duration_seconds` for `route` and `status`, registered on first use.
fn with_request_handles<T>(
    route: &str,
    status: u16,
    f: impl FnOnce(&Counter, &Histogram) -> T,
) -> T {
    let register = || {
        (
            metrics::counter!("widgetgate_requests_total", "route" => route.to_string(), "status" => status.to_string()),
            metrics::histogram!("widgetgate_request_duration_seconds", "route" => route.to_string()),
        )
    };
    if !installed() {
        let (count, duration) = register();
        return f(&count, &duration);
    }
    {
        let handles = REQUEST_HANDLES.read().unwrap_or_else(|p| p.into_inner());
        if let Some((count, duration)) = handles.get(route).and_then(|s| s.get(&status)) {
            return f(count, duration);
        }
    }
    let (count, duration) = register();
    let out = f(&count, &duration);
    REQUEST_HANDLES
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .entry(route.to_string())
        .or_default()
        .insert(status, (count, duration));
    out
}

/// An endpoint's handles for its `200` answers, resolved on its first one and then used
/// without [`request`]'s lock and map lookups: every serving thread takes that lock for each
/// request, and its cache line moves between their CPUs each time.
#[derive(Default)]
pub struct OkHandles(OnceLock<(Counter, Histogram)>);

impl OkHandles {
    /// One `200` answer of the endpoint at `route`; the same series as [`request`] writes.
    pub fn request(&self, route: &str, elapsed: Duration) {
        if !installed() {
            return request(route, 200, elapsed);
        }
        let (count, duration) = self
            .0
            .get_or_init(|| with_request_handles(route, 200, |c, d| (c.clone(), d.clone())));
        count.increment(1);
        duration.record(elapsed.as_secs_f64());
    }
}

/// One upstream call and its outcome (`ok` or `error`).
pub fn upstream_call(provider: &str, outcome: &'static str, elapsed: Duration) {
    let provider = provider.to_string();
    metrics::counter!("widgetgate_upstream_calls_total", "provider" => provider.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!("widgetgate_upstream_duration_seconds", "provider" => provider)
        .record(elapsed.as_secs_f64());
}

const CACHE_STATUSES: [&str; 3] = ["hit", "miss", "stale"];

/// `widgetgate_cache_total` by status, registered by [`init`] (a lookup cost a registry search).
static CACHE_COUNTERS: OnceLock<[Counter; 3]> = OnceLock::new();

/// A cache lookup: `hit`, `miss` or `stale`.
pub fn cache(status: &'static str) {
    match (
        CACHE_COUNTERS.get(),
        CACHE_STATUSES.iter().position(|s| *s == status),
    ) {
        (Some(counters), Some(i)) => counters[i].increment(1),
        _ => metrics::counter!("widgetgate_cache_total", "status" => status).increment(1),
    }
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
