//! Errors a request can end in, and their one mapping to an HTTP response.
//!
//! Every error answers `{"detail": "..."}`, which Workspace shows inside the widget.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// An error answer: a status and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the user.
    pub detail: String,
    /// Seconds after which a retry may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 401: the request carries no client key.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    /// 403: the key is wrong, or may not use what was asked for.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// 413: the request body is larger than `server.limits.max_body`.
    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than this backend accepts ({limit} bytes)"),
        )
    }

    /// 429: the client is over its rate; `Retry-After` goes on the response.
    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, detail)
    }

    /// 504: the answer took longer than `server.limits.request_timeout`.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self::gateway_timeout(format!(
            "the answer took longer than {} s; try again, or ask the backend's operator",
            limit.as_secs_f64()
        ))
    }

    /// 404: nothing is served at this path.
    pub fn not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!(
                "no widget or route is served at {path}; see /widgets.json for what this backend serves"
            ),
        )
    }

    /// 405: the path exists but not for this method (`post`: whether it also takes POST).
    pub fn method_not_allowed(method: &http::Method, path: &str, post: bool) -> Self {
        let allowed = if post { "GET or POST" } else { "GET" };
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {path}; use {allowed}"),
        )
    }

    /// 500: the gateway's own configuration produced something unusable.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// 502: the upstream failed or answered something unusable.
    pub fn bad_gateway(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, detail)
    }

    /// 503: temporarily unavailable; retry after `secs`.
    pub fn unavailable(detail: impl Into<String>, secs: u64) -> Self {
        ApiError {
            retry_after: Some(secs),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
        }
    }

    /// 504: the upstream did not answer in time.
    pub fn gateway_timeout(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, detail)
    }

    /// The JSON response for this error.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body =
            serde_json::to_vec(&serde_json::json!({ "detail": self.detail })).unwrap_or_default();
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = self.status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}
