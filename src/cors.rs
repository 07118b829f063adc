//! CORS for the Workspace origins: preflights for every path, headers on every response
//! (errors included, so Workspace can read their detail).

use std::collections::HashSet;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const EXPOSE_HEADERS: &str = "ETag, X-Cache, Retry-After";
const PREFLIGHT_MAX_AGE: &str = "600";
const PRIVATE_NETWORK_REQUEST: &str = "access-control-request-private-network";
const PRIVATE_NETWORK_ALLOW: &str = "access-control-allow-private-network";

/// The allowed browser origins of one snapshot.
#[derive(Debug, Clone)]
pub struct Cors {
    origins: HashSet<String>,
}

impl Cors {
    /// Allows exactly `origins`.
    pub fn new(origins: &[String]) -> Self {
        Cors {
            origins: origins.iter().cloned().collect(),
        }
    }

    /// The request's `Origin` when it is allowed.
    pub fn allowed<'a>(&self, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        self.origins
            .contains(origin.to_str().ok()?)
            .then_some(origin)
    }

    /// Whether a request is a CORS preflight.
    pub fn is_preflight(method: &http::Method, headers: &HeaderMap) -> bool {
        method == http::Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// Answers a preflight: allowed origins get the origin echoed, credentials, the requested
    /// headers reflected and, when asked, private-network access.
    pub fn preflight(&self, headers: &HeaderMap) -> Response<Full<Bytes>> {
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = StatusCode::NO_CONTENT;
        let out = resp.headers_mut();
        out.insert(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let Some(origin) = self.allowed(headers) else {
            return resp;
        };
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        out.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        if let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
        }
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        if headers
            .get(PRIVATE_NETWORK_REQUEST)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
        {
            out.insert(PRIVATE_NETWORK_ALLOW, HeaderValue::from_static("true"));
        }
        resp
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        response.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allowed(request) {
            response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            response.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE_HEADERS),
            );
        }
    }
}
