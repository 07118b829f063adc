//! Request ids: the client's `X-Request-Id` when it is a sane token, else a new one; echoed in
//! the response and attached to log lines so gateway and client logs can be correlated.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderValue, Response};

const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 64;

static NEXT: AtomicU64 = AtomicU64::new(1);
static BOOT: OnceLock<u64> = OnceLock::new();

/// The id for a request with `headers`.
pub fn of(headers: &HeaderMap) -> String {
    if let Some(given) = headers.get(HEADER).and_then(|v| v.to_str().ok())
        && !given.is_empty()
        && given.len() <= MAX_LEN
        && given
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return given.to_string();
    }
    let boot = BOOT.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
            & 0xffff_ffff
    });
    format!("{boot:08x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Echoes `id` on `resp`.
pub fn set<B>(resp: &mut Response<B>, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut().insert(HEADER, v);
    }
}
