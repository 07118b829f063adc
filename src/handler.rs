//! Request dispatch: CORS, then the gateway's own paths, then widget and route endpoints.

use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;

use crate::cache::CacheStatus;
use crate::cors::Cors;
use crate::error::ApiError;
use crate::metrics;
use crate::request_id;
use crate::snapshot::{RESERVED_PATHS, Snapshot};
use crate::source::Reply;

/// Answers one request from `snap` (the snapshot current when the request arrived; a reload
/// meanwhile does not change it).
pub async fn handle<B>(req: Request<B>, snap: &Snapshot) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let headers = req.headers();
    let id = request_id::of(headers);
    if Cors::is_preflight(req.method(), headers) {
        let mut resp = snap.cors.preflight(headers);
        request_id::set(&mut resp, &id);
        return resp;
    }
    let path = req.uri().path();
    let route_label = route_label(path, snap);
    let mut resp = match route(&req, snap).await {
        Ok((reply, cache)) => ok(reply, cache),
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(request_id = %id, route = route_label, status = e.status.as_u16(), detail = %e.detail, "request failed");
            }
            e.into_response()
        }
    };
    let elapsed = started.elapsed();
    metrics::request(route_label, resp.status().as_u16(), elapsed);
    tracing::debug!(request_id = %id, method = %req.method(), route = route_label, status = resp.status().as_u16(), micros = elapsed.as_micros() as u64, "answered");
    request_id::set(&mut resp, &id);
    if req.method() == Method::HEAD {
        *resp.body_mut() = Full::new(Bytes::new());
    }
    snap.cors.decorate(req.headers(), resp.headers_mut());
    resp
}

async fn route<B>(
    req: &Request<B>,
    snap: &Snapshot,
) -> Result<(Reply, Option<CacheStatus>), ApiError> {
    let path = req.uri().path();
    let method = req.method();
    if method == Method::OPTIONS {
        return Ok((
            Reply {
                body: Bytes::new(),
                content_type: "text/plain; charset=utf-8",
            },
            None,
        ));
    }
    let json = |body: &Bytes| Reply {
        body: body.clone(),
        content_type: "application/json",
    };
    let reply = match path {
        "/widgets.json" => json(&snap.widgets_json),
        "/apps.json" => json(&snap.apps_json),
        "/" => json(&snap.info_json),
        "/healthz" => Reply {
            body: Bytes::from_static(b"{\"status\":\"ok\"}"),
            content_type: "application/json",
        },
        "/readyz" => Reply {
            body: Bytes::from_static(b"{\"ready\":true}"),
            content_type: "application/json",
        },
        "/metrics" => Reply {
            body: Bytes::from(metrics::render()),
            content_type: "text/plain; version=0.0.4; charset=utf-8",
        },
        _ => {
            let endpoint = snap
                .endpoints
                .get(path)
                .ok_or_else(|| ApiError::not_found(path))?;
            if method != Method::GET && method != Method::HEAD {
                return Err(ApiError::method_not_allowed(method, path));
            }
            return endpoint.respond(&snap.templates, req.uri().query()).await;
        }
    };
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed(method, path));
    }
    Ok((reply, None))
}

/// The metrics label of a path: one the snapshot serves, or `unmatched` (bounded cardinality).
fn route_label<'a>(path: &'a str, snap: &Snapshot) -> &'a str {
    if RESERVED_PATHS.contains(&path) || snap.endpoints.contains_key(path) {
        path
    } else {
        "unmatched"
    }
}

fn ok(reply: Reply, cache: Option<CacheStatus>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(status) = cache {
        resp.headers_mut()
            .insert("x-cache", HeaderValue::from_static(status.as_str()));
    }
    resp
}
