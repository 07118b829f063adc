//! Admission: what a request passes before routing. CORS preflights, `/healthz` and `/readyz` pass
//! freely; every other request is checked for body size, client key and rate, in that order.
//!
//! Requests without a valid key are charged to their client address (all requests when `auth`
//! is off), which also bounds how fast anyone can guess keys. Refusals of unknown clients are
//! logged at debug level only, so a flood of them cannot flood the log as well.

use std::net::IpAddr;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::Full;

use crate::auth::Client;
use crate::error::ApiError;
use crate::limit::{Exceeded, Limiters};
use crate::snapshot::Snapshot;

/// The connection a request came in on.
pub struct Peer<'a> {
    /// The client's address.
    pub ip: IpAddr,
    /// The server's rate limiters.
    pub limiters: &'a Limiters,
}

/// Who may proceed to routing.
#[derive(Debug)]
pub enum Caller<'s> {
    /// No key is needed (auth is off, or the path is open to all).
    Anyone,
    /// A client identified by its key.
    Client(&'s Client),
}

/// Admits `req` or answers it with the reason it was turned away.
pub fn admit<'s, B>(
    req: &Request<B>,
    snap: &'s Snapshot,
    peer: &Peer<'_>,
) -> Result<Caller<'s>, Rejection> {
    let path = req.uri().path();
    if req.method() == Method::OPTIONS || path == "/healthz" || path == "/readyz" {
        return Ok(Caller::Anyone);
    }
    let limits = &snap.server.limits;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body) {
        return Err(ApiError::payload_too_large(limits.max_body).into());
    }
    let by_address = || match limits.per_ip {
        Some(rate) => peer.limiters.check_address(peer.ip, rate).map_err(|e| {
            tracing::debug!(peer = %peer.ip, path, "rate limit exceeded for a client address");
            too_many(
                e,
                format!("too many requests from your address: at most {rate}"),
            )
        }),
        None => Ok(()),
    };
    let Some(auth) = &snap.auth else {
        by_address()?;
        return Ok(Caller::Anyone);
    };
    match auth.identify(req.headers(), req.uri().query()) {
        Ok(client) => {
            peer.limiters
                .check_client(&client.name, client.rate, &client.bucket)
                .map_err(|e| {
                    tracing::info!(client = %client.name, path, "rate limit exceeded");
                    too_many(
                        e,
                        format!(
                            "too many requests for this API key: at most {}",
                            client.rate
                        ),
                    )
                })?;
            tracing::debug!(client = %client.name, path, "admitted");
            Ok(Caller::Client(client))
        }
        Err(refusal) => {
            by_address()?;
            tracing::debug!(peer = %peer.ip, path, reason = ?refusal, "refused: no valid API key");
            Err(auth.refuse(refusal).into())
        }
    }
}

/// Why a request was turned away before routing.
#[derive(Debug)]
pub struct Rejection {
    error: ApiError,
    retry_after: Option<u64>,
}

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        Rejection {
            error,
            retry_after: None,
        }
    }
}

impl Rejection {
    /// The error response, with `Retry-After` for a 429.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut resp = self.error.into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// A 429 that says when to retry.
fn too_many(e: Exceeded, what: String) -> Rejection {
    let secs = e.retry_after;
    Rejection {
        error: ApiError::too_many_requests(format!("{what}; retry in {secs} s")),
        retry_after: Some(secs),
    }
}
