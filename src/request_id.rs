//! Request ids: the client's `X-Request-Id` when it is a sane token, else a new one; echoed in
//! the response and attached to log lines so gateway and client logs can be correlated.
//!
//! Every request gets one, so it is built without formatting machinery: the client's header
//! value is reused as is, and a new id is written into a stack buffer.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue, Response};

static HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 64;

static NEXT: AtomicU64 = AtomicU64::new(1);
static BOOT: OnceLock<[u8; 8]> = OnceLock::new();

/// A request's id, ready to be echoed as a header and shown in logs.
#[derive(Debug, Clone)]
pub struct RequestId(HeaderValue);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Both kinds of id are ASCII by construction.
        f.write_str(self.0.to_str().unwrap_or_default())
    }
}

/// The id for a request with `headers`.
pub fn of(headers: &HeaderMap) -> RequestId {
    if let Some(given) = headers.get(&HEADER)
        && !given.is_empty()
        && given.len() <= MAX_LEN
        && given
            .as_bytes()
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
    {
        return RequestId(given.clone());
    }
    RequestId(fresh(NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// `<8 hex digits of the start time>-<counter in hex>`: unique within a process, and unlikely
/// to repeat across restarts.
fn fresh(counter: u64) -> HeaderValue {
    let boot = BOOT.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut out = [0u8; 8];
        write_hex(nanos & 0xffff_ffff, &mut out);
        out
    });
    let mut buf = [0u8; 8 + 1 + 16];
    buf[..8].copy_from_slice(boot);
    buf[8] = b'-';
    let digits = (64 - counter.max(1).leading_zeros()).div_ceil(4) as usize;
    write_hex(counter, &mut buf[9..9 + digits]);
    HeaderValue::from_bytes(&buf[..9 + digits]).expect("hex digits and a dash are a valid header")
}

/// Writes the low `out.len()` hex digits of `n` into `out`, most significant first.
fn write_hex(mut n: u64, out: &mut [u8]) {
    for slot in out.iter_mut().rev() {
        *slot = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
    }
}

/// Echoes `id` on `resp` (its last use: the value moves into the header, no copy is made).
pub fn set<B>(resp: &mut Response<B>, id: RequestId) {
    resp.headers_mut().insert(HEADER.clone(), id.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_the_boot_prefix_and_the_counter_in_hex() {
        for (counter, suffix) in [
            (1, "1"),
            (15, "f"),
            (16, "10"),
            (0xabc, "abc"),
            (u64::MAX, "ffffffffffffffff"),
        ] {
            let id = fresh(counter);
            let text = id.to_str().expect("ascii");
            let (boot, rest) = text.split_once('-').expect("a dash");
            assert_eq!(boot.len(), 8, "{text}");
            assert!(boot.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
            assert_eq!(rest, suffix);
        }
    }

    #[test]
    fn a_sane_client_id_is_kept_and_others_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(&HEADER, HeaderValue::from_static("abc-123_x.y"));
        assert_eq!(of(&headers).to_string(), "abc-123_x.y");
        for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
            headers.insert(&HEADER, HeaderValue::from_str(bad).expect("value"));
            assert_ne!(of(&headers).to_string(), bad, "{bad:?}");
        }
    }
}
