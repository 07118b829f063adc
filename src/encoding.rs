//! gzip for widgets.json: Workspace (a browser) always sends `Accept-Encoding: gzip`, and the
//! document of a backend with many widgets is tens of kilobytes of repetitive JSON that
//! compresses about twentyfold. It is compressed once per snapshot, on first demand (so start-up
//! does not wait for it), and then served like the plain bytes.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::snapshot::Snapshot;

/// Whether the request accepts a gzip body (`gzip` listed without `q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            parts.next().is_some_and(|c| c.eq_ignore_ascii_case("gzip"))
                && parts.all(|p| {
                    !p.strip_prefix("q=")
                        .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
                })
        })
}

/// `data` gzip-compressed.
pub fn gzip(data: &[u8]) -> Bytes {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 8), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    Bytes::from(enc.finish().unwrap_or_default())
}

/// Turns a 200 answer of `/widgets.json` that is the snapshot's whole document (not a client's
/// allow-list view) into its gzip form when `gzipped` (the client accepts it); either way, and
/// on a `304 Not Modified` too, the answer varies with `Accept-Encoding`.
pub fn widgets_json(snap: &Snapshot, gzipped: bool, resp: &mut Response<Full<Bytes>>) {
    let status = resp.status();
    if status != StatusCode::OK && status != StatusCode::NOT_MODIFIED {
        return;
    }
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzipped && status == StatusCode::OK {
        let body = snap
            .widgets_json_gzip
            .get_or_init(|| gzip(&snap.widgets_json))
            .clone();
        *resp.body_mut() = Full::new(body);
        resp.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    #[test]
    fn reads_accept_encoding() {
        assert!(accepts_gzip(&with("gzip, deflate, br, zstd")));
        assert!(accepts_gzip(&with("br;q=1.0, GZIP;q=0.5")));
        assert!(!accepts_gzip(&with("gzip;q=0")));
        assert!(!accepts_gzip(&with("br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let data = br#"{"a":"widget","b":"widget","c":"widget"}"#.repeat(50);
        let packed = gzip(&data);
        assert!(packed.len() < data.len() / 5);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&packed[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        assert_eq!(out, data);
    }
}
