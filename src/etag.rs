//! ETags for widgets.json and apps.json, so Workspace sees an edited config and can revalidate
//! cheaply: a strong ETag from a hash of the bytes (computed once, at load) and `304 Not
//! Modified` for a matching `If-None-Match`.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use sha2::{Digest, Sha256};

use crate::snapshot::{Snapshot, hex};

/// Hex digits of SHA-256 kept in the tag: 128 bits, plenty to tell config versions apart.
const TAG_HEX_DIGITS: usize = 32;

/// Browsers and proxies may store the documents but must ask before reusing them, so an edit is
/// seen on the next load; the ETag makes that question cheap.
const CACHE_CONTROL: &str = "no-cache";

/// The strong ETag of `bytes`: a quoted prefix of their SHA-256.
pub fn strong(bytes: &[u8]) -> HeaderValue {
    let digest = hex(&Sha256::digest(bytes));
    let tag = format!("\"{}\"", &digest[..TAG_HEX_DIGITS]);
    HeaderValue::from_str(&tag).expect("a quoted hex string is a valid header value")
}

/// The tag of the gzip form of what `tag` names: the same opaque string with `-gzip` inside
/// the quotes. The compressed bytes are made lazily, so the tag is derived, not hashed.
pub fn gzip_variant(tag: &HeaderValue) -> HeaderValue {
    let text = tag.to_str().unwrap_or_default().trim_end_matches('"');
    HeaderValue::from_str(&format!("{text}-gzip\""))
        .expect("a quoted hex string is a valid header value")
}

/// The ETag of `body` served at `path`, for widgets.json and apps.json: the snapshot's own
/// (computed at load) when `body` is its document, else computed now (a client key's filtered
/// view of the documents has its own content, so its own tag).
pub fn of_reply(snap: &Snapshot, path: &str, body: &Bytes) -> Option<HeaderValue> {
    let (doc, tag) = match path {
        "/widgets.json" => (&snap.widgets_json, &snap.widgets_etag),
        "/apps.json" => (&snap.apps_json, &snap.apps_etag),
        _ => return None,
    };
    Some(
        if doc.as_ptr() == body.as_ptr() && doc.len() == body.len() {
            tag.clone()
        } else {
            strong(body)
        },
    )
}

/// Adds `etag` to a 200 answer, and turns it into `304 Not Modified` (no body) when the
/// request's `If-None-Match` already names it.
pub fn apply(request: &HeaderMap, etag: &HeaderValue, resp: &mut Response<Full<Bytes>>) {
    let headers = resp.headers_mut();
    headers.insert(header::ETAG, etag.clone());
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    if none_match_fails(request, etag) {
        headers.remove(header::CONTENT_TYPE);
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        *resp.body_mut() = Full::new(Bytes::new());
    }
}

/// Whether `If-None-Match` names `etag` (or is `*`), i.e. the client's copy is current.
/// RFC 9110 §13.1.2: the comparison is weak, so `W/"x"` matches `"x"`.
fn none_match_fails(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = opaque(etag.as_bytes());
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .map(<[u8]>::trim_ascii)
        .any(|candidate| candidate == b"*" || opaque(candidate) == ours)
}

/// An entity tag without its weakness marker.
fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(if_none_match: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in if_none_match {
            headers.append(
                header::IF_NONE_MATCH,
                HeaderValue::from_str(v).expect("value"),
            );
        }
        headers
    }

    fn answer(request: &HeaderMap, etag: &HeaderValue) -> Response<Full<Bytes>> {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"{}")));
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        apply(request, etag, &mut resp);
        resp
    }

    #[test]
    fn tags_follow_the_bytes() {
        let a = strong(b"[1]");
        assert_eq!(a, strong(b"[1]"));
        assert_ne!(a, strong(b"[2]"));
        let text = a.to_str().expect("ascii");
        assert!(text.starts_with('"') && text.ends_with('"') && text.len() == 34);
    }

    #[test]
    fn if_none_match_answers_304_only_for_a_current_copy() {
        let tag = strong(b"doc");
        let t = tag.to_str().expect("ascii").to_string();
        for header in [
            vec![t.as_str()],
            vec!["*"],
            vec![&format!("W/{t}")],
            vec![&format!("\"old\", {t}")],
            vec!["\"old\"", t.as_str()],
        ] {
            let resp = answer(&request(&header), &tag);
            assert_eq!(resp.status(), StatusCode::NOT_MODIFIED, "{header:?}");
            assert_eq!(resp.headers()[header::ETAG], tag);
            assert!(resp.headers().get(header::CONTENT_TYPE).is_none());
        }
        for header in [vec![], vec!["\"old\""], vec!["W/\"old\", \"other\""]] {
            let resp = answer(&request(&header), &tag);
            assert_eq!(resp.status(), StatusCode::OK, "{header:?}");
            assert_eq!(resp.headers()[header::ETAG], tag);
            assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
        }
    }
}
